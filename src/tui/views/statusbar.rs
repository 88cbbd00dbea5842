//! The status bar: key hints for the current screen (from the keymap) on the left; a notice,
//! running work or the certificate count on the right.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::Frame;

use crate::tui::action::Action;
use crate::tui::screens::account::Stage;
use crate::tui::screens::acmedns::Stage as AcmeDnsStage;
use crate::tui::state::{LoadStatus, Pane, Screen, State};
use crate::tui::theme::Theme;
use crate::tui::views::widgets::fit;

/// (key, word) pairs for the current screen, most useful first.
#[must_use]
pub fn hints(state: &State) -> Vec<(String, String)> {
    if state.popup.is_some() || state.help {
        return Vec::new();
    }
    if state.palette.is_some() {
        return vec![
            Keys::literal("Enter", "run"),
            Keys::literal("↑/↓", "choose"),
            Keys::literal("Esc", "close"),
        ];
    }
    let keys = Keys(state);
    match state.screen() {
        None => dashboard_hints(state, &keys),
        Some(Screen::Detail(_)) => keys.actions(&[
            Action::Back,
            Action::Issue,
            Action::Edit,
            Action::Copy,
            Action::Refresh,
            Action::Help,
        ]),
        Some(Screen::Editor(_)) => keys.form("save"),
        Some(Screen::Provider(wizard)) => keys.form(match wizard.stage {
            crate::tui::screens::provider::Stage::Editing => "test and save",
            _ => "close",
        }),
        Some(Screen::Account(wizard)) => keys.form(match wizard.stage {
            Stage::Edit => "fetch terms",
            Stage::Review(_) => "register",
            _ => "close",
        }),
        Some(Screen::Issuance { cert }) => {
            let running = state
                .issuances
                .get(cert)
                .is_some_and(crate::tui::screens::issuance::Issuance::running);
            if running {
                let mut out = vec![keys.named(Action::Back, "background")];
                out.extend(keys.actions(&[
                    Action::CancelJob,
                    Action::Copy,
                    Action::Jobs,
                    Action::ToggleLog,
                ]));
                return out;
            }
            keys.actions(&[
                Action::Back,
                Action::Reissue,
                Action::Copy,
                Action::Jobs,
                Action::ToggleLog,
            ])
        }
        Some(Screen::Jobs(_)) => {
            let mut out = keys.actions(&[Action::Open, Action::CancelJob, Action::Back]);
            out.extend(keys.actions(&[Action::MoveDown, Action::ToggleLog]));
            out
        }
        Some(Screen::AcmeDns(wizard)) if wizard.stage == AcmeDnsStage::Edit => keys.form("save"),
        Some(Screen::AcmeDns(_)) => {
            let mut out = keys.actions(&[Action::Copy]);
            out.push(keys.named(Action::SwitchPane, "next form"));
            out.extend(keys.actions(&[Action::Refresh, Action::Back, Action::ToggleLog]));
            out
        }
        Some(Screen::Server) => server_hints(state, &keys),
        Some(Screen::Accounts(_)) => {
            let mut out = keys.actions(&[Action::Back]);
            out.push(keys.named(Action::Edit, "register again"));
            out.push(keys.named(Action::Delete, "remove"));
            out.extend(keys.actions(&[Action::Add, Action::Refresh, Action::Help]));
            out
        }
        Some(Screen::Propagation(_)) => {
            let mut out = keys.actions(&[Action::Back, Action::MoveDown]);
            out.push(keys.named(Action::MoveRight, "next name"));
            out.extend(keys.actions(&[Action::Refresh, Action::Copy, Action::ToggleLog]));
            out
        }
    }
}

fn server_hints(state: &State, keys: &Keys<'_>) -> Vec<(String, String)> {
    use crate::tui::screens::server::Stage as ServerStage;
    match state.server.as_ref().map(|s| &s.stage) {
        Some(ServerStage::Running { .. }) => {
            let mut out = keys.actions(&[Action::Copy, Action::MoveDown]);
            out.push(keys.named(Action::Delete, "stop server"));
            out.extend(keys.actions(&[Action::Refresh, Action::Back, Action::ToggleLog]));
            out
        }
        Some(ServerStage::Edit) | None => keys.form("start server"),
        Some(_) => keys.actions(&[Action::Back, Action::ToggleLog]),
    }
}

fn dashboard_hints(state: &State, keys: &Keys<'_>) -> Vec<(String, String)> {
    if state.dashboard.filtering {
        return vec![
            Keys::literal("Enter", "keep filter"),
            Keys::literal("Esc", "clear"),
        ];
    }
    if state.dashboard.pane == Pane::Domains {
        let mut out = keys.actions(&[Action::SwitchPane, Action::Add]);
        out.push(keys.named(Action::Edit, "edit solver"));
        out.push(keys.named(Action::Delete, "remove"));
        out.push(keys.named(Action::Check, "re-check"));
        out.extend(keys.actions(&[
            Action::AcmeDnsServer,
            Action::Palette,
            Action::Help,
            Action::Quit,
        ]));
        return out;
    }
    if state.dashboard.rows.is_empty() {
        return keys.actions(&[
            Action::Add,
            Action::AddAccount,
            Action::Refresh,
            Action::Help,
            Action::Quit,
        ]);
    }
    // Bulk and jobs keys come forward while there are marks or background work.
    let mut first = vec![Action::Open, Action::Issue];
    if !state.dashboard.marked.is_empty() {
        first.extend([Action::RenewMarked, Action::Mark]);
    }
    let (running, queued) = crate::tui::screens::jobs::counts(state);
    if running + queued > 0 {
        first.push(Action::Jobs);
    }
    let rest = [
        Action::Add,
        Action::Edit,
        Action::Delete,
        Action::Check,
        Action::Filter,
        Action::Sort,
        Action::Palette,
        Action::Help,
        Action::Quit,
        Action::Mark,
        Action::RenewMarked,
        Action::Jobs,
        Action::SwitchPane,
        Action::Accounts,
        Action::AddAccount,
        Action::AcmeDnsServer,
        Action::ToggleLog,
    ];
    let rest: Vec<Action> = rest.into_iter().filter(|a| !first.contains(a)).collect();
    first.extend(rest);
    keys.actions(&first)
}

/// Hint pairs from the keymap.
struct Keys<'a>(&'a State);

impl Keys<'_> {
    fn named(&self, action: Action, word: &str) -> (String, String) {
        (self.0.keymap.label(action), word.to_owned())
    }

    fn actions(&self, actions: &[Action]) -> Vec<(String, String)> {
        actions.iter().map(|a| self.named(*a, a.hint())).collect()
    }

    fn literal(key: &str, word: &str) -> (String, String) {
        (key.to_owned(), word.to_owned())
    }

    /// Hints for a form whose Enter does `enter`.
    fn form(&self, enter: &str) -> Vec<(String, String)> {
        vec![
            self.named(Action::Open, enter),
            self.named(Action::SwitchPane, "next field"),
            Self::literal("Space", "tick"),
            Self::literal("←/→", "choose"),
            self.named(Action::Back, "cancel"),
        ]
    }
}

/// What the right side says.
fn progress(state: &State, theme: &Theme) -> (String, ratatui::style::Style) {
    if let Some((notice, _)) = &state.notice {
        return (notice.clone(), theme.ok);
    }
    if let Some(indicator) = running_indicator(state) {
        return (indicator, theme.pending);
    }
    if state.busy() {
        let labels: Vec<&str> = state.running.values().map(|r| r.label.as_str()).collect();
        return (
            format!("{} {}", state.spinner_frame(), labels.join(", ")),
            theme.pending,
        );
    }
    if let LoadStatus::Failed(message) = &state.dashboard.load {
        return (format!("error: {message}"), theme.error);
    }
    let n = state.dashboard.rows.len();
    let noun = if n == 1 {
        "certificate"
    } else {
        "certificates"
    };
    (format!("{n} {noun}"), theme.muted)
}

/// `⟳ 2 running · 1 queued` while issuances work in the background (a click opens the jobs).
#[must_use]
pub fn running_indicator(state: &State) -> Option<String> {
    let (running, queued) = crate::tui::screens::jobs::counts(state);
    if running + queued == 0 {
        return None;
    }
    let mut text = format!("⟳ {running} running");
    if queued > 0 {
        text.push_str(&format!(" · {queued} queued"));
    }
    Some(text)
}

/// Draw the bar.
pub fn render(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let (text, style) = progress(state, theme);
    // The progress text gets at least a third; the hints get what is left, whole hints only.
    let reserve = (text.chars().count() + 2).min(usize::from(area.width) / 3);
    let room = usize::from(area.width).saturating_sub(reserve);
    let mut spans = vec![Span::raw(" ")];
    let mut used = 1;
    let width = |(key, word): &(String, String)| key.chars().count() + word.chars().count() + 3;
    // The help hint is kept whatever else has to go, so a narrow terminal still says how to
    // find every key.
    let mut hints = hints(state);
    let help = (
        state.keymap.label(Action::Help),
        Action::Help.hint().to_owned(),
    );
    let kept = hints
        .iter()
        .position(|h| *h == help)
        .map(|i| hints.remove(i));
    let reserved = kept.as_ref().map_or(0, width);
    let mut shown = Vec::new();
    for hint in hints {
        if used + width(&hint) + reserved > room {
            break;
        }
        used += width(&hint);
        shown.push(hint);
    }
    used += reserved;
    for (key, word) in shown.into_iter().chain(kept) {
        spans.push(Span::styled(key, theme.title));
        spans.push(Span::styled(format!(" {word}  "), theme.muted));
    }
    let hints_width = u16::try_from(used).unwrap_or(u16::MAX).min(area.width);
    let [left, right] =
        Layout::horizontal([Constraint::Length(hints_width), Constraint::Fill(1)]).areas(area);
    let room = usize::from(right.width.saturating_sub(1));
    frame.render_widget(Line::from(spans), left);
    frame.render_widget(
        Line::styled(format!("{} ", fit(&text, room)), style).right_aligned(),
        right,
    );
}
