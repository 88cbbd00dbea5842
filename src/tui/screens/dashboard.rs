//! The dashboard: certificates (most urgent first, filterable) and solver domains.

pub use super::urgency::{by_urgency, urgency, Urgency, ERROR_DAYS, WARN_DAYS};

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};

use crate::inventory::CertRow;
use crate::jobs::inventory::{DomainRow, Inventory};
use crate::jobs::Job;
use crate::tui::action::Action;
use crate::tui::form::TextInput;
use crate::tui::layout;
use crate::tui::screens::sort::{self, SortKey};
use crate::tui::screens::{detail, domains, editor, issuance, jobs};
use crate::tui::state::{Confirmed, Popup, Screen, State};
use crate::tui::update::Effect;

/// Where the inventory load stands.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum LoadStatus {
    /// Nothing asked for yet.
    #[default]
    Idle,
    /// A load runs.
    Loading,
    /// The last load succeeded.
    Loaded,
    /// The last load failed; the previous rows (if any) are still shown.
    Failed(String),
}

/// Which pane has the focus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pane {
    /// The certificates table.
    #[default]
    Certificates,
    /// The domains table.
    Domains,
}

/// The dashboard's data and selection.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Dashboard {
    /// Certificates, most urgent first.
    pub rows: Vec<CertRow>,
    /// Solver domains.
    pub domains: Vec<DomainRow>,
    /// Configured account names.
    pub accounts: Vec<String>,
    /// Indices into `rows` that pass the filter.
    pub visible: Vec<usize>,
    /// Index into `visible` of the selected certificate.
    pub selected: usize,
    /// First visible entry of `visible` on screen.
    pub offset: usize,
    /// Selected domain.
    pub domain_selected: usize,
    /// First domain on screen.
    pub domain_offset: usize,
    /// Focused pane.
    pub pane: Pane,
    /// Filter text (matched against the name and every DNS name).
    pub filter: TextInput,
    /// The filter is being typed.
    pub filtering: bool,
    /// Load progress.
    pub load: LoadStatus,
    /// Whether any load succeeded, so "no rows" really means "no certificates".
    pub loaded_once: bool,
    /// Last propagation check of each domain this session: (UI clock, propagated).
    pub checks: BTreeMap<String, (Duration, bool)>,
    /// What the certificates are ordered by.
    pub sort: SortKey,
    /// The order is reversed.
    pub reverse: bool,
    /// Certificates marked for a bulk renewal.
    pub marked: BTreeSet<String>,
    /// `settings.parallel` from the last load (0 before one).
    pub parallel: usize,
    /// A certificate to select once the next load lists it (just saved or issued).
    pub follow: Option<String>,
}

impl Dashboard {
    /// The selected certificate, if any.
    #[must_use]
    pub fn selected_row(&self) -> Option<&CertRow> {
        self.visible
            .get(self.selected)
            .and_then(|&i| self.rows.get(i))
    }

    /// The selected domain, if any.
    #[must_use]
    pub fn selected_domain(&self) -> Option<&DomainRow> {
        self.domains.get(self.domain_selected)
    }

    /// Recompute which rows pass the filter, keeping the selection when it still does.
    pub fn apply_filter(&mut self) {
        let keep = self.selected_row().map(|r| r.name.clone());
        let needle = self.filter.value().to_lowercase();
        self.visible = self
            .rows
            .iter()
            .enumerate()
            .filter(|(_, row)| needle.is_empty() || matches_filter(row, &needle))
            .map(|(i, _)| i)
            .collect();
        self.selected = keep
            .and_then(|name| self.visible.iter().position(|&i| self.rows[i].name == name))
            .unwrap_or(self.selected)
            .min(self.visible.len().saturating_sub(1));
    }

    /// Take a finished load.
    pub fn loaded(&mut self, result: Result<Inventory, String>) {
        match result {
            Ok(inventory) => {
                let keep = self.selected_row().map(|r| r.name.clone());
                let mut rows = inventory.rows;
                sort::order(&mut rows, self.sort, self.reverse);
                self.rows = rows;
                self.domains = inventory.domains;
                self.accounts = inventory.accounts;
                self.parallel = inventory.parallel;
                let rows = &self.rows;
                self.marked
                    .retain(|name| rows.iter().any(|r| &r.name == name));
                self.apply_filter();
                let follow = self.follow.take();
                if let Some(i) = follow.or(keep).and_then(|name| self.position(&name)) {
                    self.selected = i;
                }
                self.domain_selected = self
                    .domain_selected
                    .min(self.domains.len().saturating_sub(1));
                self.load = LoadStatus::Loaded;
                self.loaded_once = true;
            }
            Err(message) => self.load = LoadStatus::Failed(message),
        }
    }

    /// Order the rows by `key` (reversed when asked), keeping the selected certificate.
    pub fn sort_by(&mut self, key: SortKey, reverse: bool) {
        let keep = self.selected_row().map(|r| r.name.clone());
        self.sort = key;
        self.reverse = reverse;
        sort::order(&mut self.rows, key, reverse);
        self.apply_filter();
        if let Some(i) = keep.and_then(|name| self.position(&name)) {
            self.selected = i;
        }
    }

    /// Position in `visible` of the certificate `name`.
    #[must_use]
    pub fn position(&self, name: &str) -> Option<usize> {
        self.visible.iter().position(|&i| self.rows[i].name == name)
    }
}

fn matches_filter(row: &CertRow, needle: &str) -> bool {
    row.name.to_lowercase().contains(needle) || row.names.iter().any(|n| n.contains(needle))
}

/// Start (or restart) the inventory load.
pub fn reload(state: &mut State) -> Vec<Effect> {
    state.dashboard.load = LoadStatus::Loading;
    let (_, effect) = state.start(Job::LoadInventory);
    vec![effect]
}

fn panes(state: &State) -> layout::DashboardAreas {
    let area = Rect::new(0, 0, state.size.0, state.size.1);
    let body = layout::areas(area, state.log.open).body;
    layout::dashboard(body, state.dashboard.domains.len())
}

/// Certificate rows that fit on screen.
#[must_use]
pub fn page(state: &State) -> usize {
    usize::from(layout::table_body(panes(state).certs).height).max(1)
}

fn domain_page(state: &State) -> usize {
    usize::from(layout::table_body(panes(state).domains).height).max(1)
}

/// Move the selection of the focused pane by `delta` rows (clamped).
pub fn move_selection(state: &mut State, delta: isize) {
    let (page, domain_page) = (page(state), domain_page(state));
    let d = &mut state.dashboard;
    let step = |at: usize, len: usize| at.saturating_add_signed(delta).min(len.saturating_sub(1));
    match d.pane {
        Pane::Certificates => {
            d.selected = step(d.selected, d.visible.len());
            d.offset = layout::scroll_into_view(d.selected, d.offset, page);
        }
        Pane::Domains => {
            d.domain_selected = step(d.domain_selected, d.domains.len());
            d.domain_offset =
                layout::scroll_into_view(d.domain_selected, d.domain_offset, domain_page);
        }
    }
}

/// Keys typed into the filter; `true` when used.
pub fn on_filter_key(state: &mut State, key: &KeyEvent) -> bool {
    let d = &mut state.dashboard;
    if !d.filtering {
        return false;
    }
    match key.code {
        KeyCode::Enter => d.filtering = false,
        KeyCode::Esc => {
            d.filtering = false;
            d.filter = TextInput::default();
        }
        _ if d.filter.handle(key) => {}
        _ => return false,
    }
    d.apply_filter();
    let rows = page(state);
    let d = &mut state.dashboard;
    d.offset = layout::scroll_into_view(d.selected, 0, rows);
    true
}

/// An action on the dashboard.
pub fn on_action(state: &mut State, action: Action) -> Vec<Effect> {
    let page = isize::try_from(page(state)).unwrap_or(1);
    match action {
        Action::MoveDown => move_selection(state, 1),
        Action::MoveUp => move_selection(state, -1),
        Action::PageDown => move_selection(state, page),
        Action::PageUp => move_selection(state, -page),
        Action::MoveFirst => move_selection(state, isize::MIN / 2),
        Action::MoveLast => move_selection(state, isize::MAX / 2),
        Action::SwitchPane => {
            state.dashboard.pane = match state.dashboard.pane {
                Pane::Certificates => Pane::Domains,
                Pane::Domains => Pane::Certificates,
            };
        }
        Action::Filter => {
            state.dashboard.pane = Pane::Certificates;
            state.dashboard.filtering = true;
        }
        Action::Back if !state.dashboard.filter.value().is_empty() => {
            state.dashboard.filter = TextInput::default();
            state.dashboard.apply_filter();
        }
        Action::Refresh => return reload(state),
        Action::Sort => {
            let (key, reverse) = (state.dashboard.sort.next(), state.dashboard.reverse);
            state.dashboard.sort_by(key, reverse);
            state.notify(format!("sorted by {}", key.label()));
            move_selection(state, 0);
        }
        Action::ReverseSort => {
            let (key, reverse) = (state.dashboard.sort, !state.dashboard.reverse);
            state.dashboard.sort_by(key, reverse);
            move_selection(state, 0);
        }
        Action::Check => return domains::check(state),
        Action::AcmeDnsServer => crate::tui::screens::server::open(state),
        Action::Sandbox => crate::tui::screens::sandbox::open(state),
        Action::AddAccount => {
            let wizard = crate::tui::screens::account::AccountWizard::new();
            state.stack.push(Screen::Account(wizard));
        }
        Action::Mark if state.dashboard.pane == Pane::Certificates => jobs::toggle_mark(state),
        Action::RenewMarked => jobs::ask_bulk(state),
        _ => return on_selection(state, action),
    }
    Vec::new()
}

/// Actions about the selected certificate.
fn on_selection(state: &mut State, action: Action) -> Vec<Effect> {
    match (action, state.dashboard.pane) {
        (Action::Add, Pane::Certificates) => {
            let (editor, effects) = editor::CertEditor::open(None, state);
            state.stack.push(Screen::Editor(editor));
            return effects;
        }
        (_, Pane::Domains) => return domains::on_action(state, action),
        _ => {}
    }
    let Some(row) = state.dashboard.selected_row().cloned() else {
        return Vec::new();
    };
    match action {
        Action::Open => detail::open(state, &row.name),
        Action::Edit => {
            let (editor, effects) = editor::CertEditor::open(Some(&row), state);
            state.stack.push(Screen::Editor(editor));
            effects
        }
        Action::Issue => issuance::ask_or_start(state, &row),
        Action::Delete => {
            state.popup = Some(Popup::Confirm {
                question: format!("Delete certificate {}?", row.name),
                detail: "y removes it from certpilot.toml and keeps its files and key; \
                         p also deletes its files and its key from the keyring."
                    .to_owned(),
                yes: Confirmed::Delete {
                    name: row.name.clone(),
                    purge: false,
                },
                alternative: Some((
                    'p',
                    "purge".to_owned(),
                    Confirmed::Delete {
                        name: row.name,
                        purge: true,
                    },
                )),
            });
            Vec::new()
        }
        Action::Copy => vec![Effect::Copy(row.names.join(" "))],
        _ => Vec::new(),
    }
}

/// Mouse on the dashboard: click selects (a second click opens), the wheel scrolls.
pub fn on_mouse(state: &mut State, mouse: MouseEvent) -> Vec<Effect> {
    let at = Position::new(mouse.column, mouse.row);
    let panes = panes(state);
    match mouse.kind {
        MouseEventKind::ScrollDown => move_selection(state, 3),
        MouseEventKind::ScrollUp => move_selection(state, -3),
        MouseEventKind::Down(MouseButton::Left) => {
            let certs = layout::table_body(panes.certs);
            let domains = layout::table_body(panes.domains);
            if certs.contains(at) {
                let d = &mut state.dashboard;
                let index = d.offset + usize::from(at.y - certs.y);
                if index < d.visible.len() {
                    let again = d.pane == Pane::Certificates && d.selected == index;
                    d.pane = Pane::Certificates;
                    d.selected = index;
                    if again {
                        return on_selection(state, Action::Open);
                    }
                }
            } else if domains.contains(at) {
                let d = &mut state.dashboard;
                let index = d.domain_offset + usize::from(at.y - domains.y);
                if index < d.domains.len() {
                    d.pane = Pane::Domains;
                    d.domain_selected = index;
                }
            }
        }
        _ => {}
    }
    Vec::new()
}
