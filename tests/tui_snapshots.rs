//! Whole-screen snapshots of the dashboard on ratatui's `TestBackend`.
//!
//! Rows use fixed dates, so the snapshots never change with the calendar. Regenerate with
//! `INSTA_UPDATE=always cargo test --test tui_snapshots` and review the diff.

use certpilot::domain::renewal::CertStatus;
use certpilot::inventory::CertRow;
use certpilot::tui::action::Action;
use certpilot::tui::state::State;
use certpilot::tui::theme::{Theme, BUILTIN};
use certpilot::tui::update::{update, Msg};
use certpilot::tui::views;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Color;
use ratatui::Terminal;
use time::macros::datetime;
use time::OffsetDateTime;

fn row(
    name: &str,
    names: &[&str],
    not_after: Option<OffsetDateTime>,
    days_left: Option<i64>,
    status: CertStatus,
) -> CertRow {
    CertRow {
        name: name.to_owned(),
        names: names.iter().map(|n| (*n).to_owned()).collect(),
        not_after,
        days_left,
        status,
        issuer: not_after.map(|_| "Test CA".to_owned()),
        serial: not_after.map(|_| "0a1b2c".to_owned()),
        key_type: "ecdsa-p256".to_owned(),
        account: Some("default".to_owned()),
    }
}

/// Seven certificates "as of 2025-05-31", deliberately out of order.
fn fixture_rows() -> Vec<CertRow> {
    vec![
        row(
            "www",
            &["example.com", "www.example.com"],
            Some(datetime!(2025-08-03 12:00 UTC)),
            Some(64),
            CertStatus::Valid,
        ),
        row(
            "mail",
            &["mail.example.com", "smtp.example.com", "imap.example.com"],
            Some(datetime!(2025-06-05 08:30 UTC)),
            Some(5),
            CertStatus::Expiring,
        ),
        row(
            "staging",
            &["staging.example.net", "api.staging.example.net"],
            None,
            None,
            CertStatus::Missing,
        ),
        row(
            "legacy",
            &["legacy.example.org"],
            Some(datetime!(2025-05-28 00:00 UTC)),
            Some(-3),
            CertStatus::Expired,
        ),
        row(
            "shop",
            &["shop.example.com", "www.shop.example.com"],
            Some(datetime!(2025-06-21 23:59 UTC)),
            Some(21),
            CertStatus::Expiring,
        ),
        row(
            "wildcard",
            &["*.example.com", "example.com"],
            Some(datetime!(2025-07-10 06:00 UTC)),
            Some(40),
            CertStatus::NamesChanged,
        ),
        row(
            "api-internal-long-name",
            &["api.internal.very-long-subdomain.example.com"],
            Some(datetime!(2025-08-27 00:00 UTC)),
            Some(88),
            CertStatus::Valid,
        ),
    ]
}

/// The state after the first load answered with `rows`.
fn loaded(rows: Vec<CertRow>) -> State {
    let mut state = State::new();
    update(&mut state, Msg::Action(Action::Reload));
    update(
        &mut state,
        Msg::Loaded {
            request: 1,
            result: Ok(rows),
        },
    );
    state
}

fn draw(state: &State, theme: &Theme, width: u16, height: u16) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|frame| views::render(frame, state, theme))
        .unwrap();
    terminal.backend().buffer().clone()
}

/// The buffer's text, one line per row, trailing blanks trimmed.
fn text(buffer: &Buffer) -> String {
    let area = buffer.area;
    let mut out = String::new();
    for y in area.top()..area.bottom() {
        let line: String = (area.left()..area.right())
            .map(|x| buffer[(x, y)].symbol())
            .collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Position of the first cell where `needle` starts.
fn find(buffer: &Buffer, needle: &str) -> (u16, u16) {
    let area = buffer.area;
    for y in area.top()..area.bottom() {
        let symbols: Vec<&str> = (area.left()..area.right())
            .map(|x| buffer[(x, y)].symbol())
            .collect();
        let line = symbols.concat();
        if let Some(byte) = line.find(needle) {
            // Map the byte offset back to a cell index (some symbols are multi-byte).
            let mut seen = 0;
            for (x, symbol) in symbols.iter().enumerate() {
                if seen == byte {
                    return (u16::try_from(x).unwrap(), y);
                }
                seen += symbol.len();
            }
        }
    }
    panic!("{needle:?} not on screen:\n{}", text(buffer));
}

fn default_theme() -> Theme {
    Theme::builtin("default", false).unwrap()
}

#[test]
fn dashboard_80x24() {
    let buffer = draw(&loaded(fixture_rows()), &default_theme(), 80, 24);
    insta::assert_snapshot!("dashboard_80x24", text(&buffer));
}

#[test]
fn dashboard_120x40_with_selection_moved() {
    let mut state = loaded(fixture_rows());
    update(&mut state, Msg::Action(Action::MoveDown));
    update(&mut state, Msg::Action(Action::MoveDown));
    let buffer = draw(&state, &default_theme(), 120, 40);
    insta::assert_snapshot!("dashboard_120x40", text(&buffer));
}

#[test]
fn help_overlay() {
    let mut state = loaded(fixture_rows());
    update(&mut state, Msg::Action(Action::ToggleHelp));
    let buffer = draw(&state, &default_theme(), 80, 24);
    insta::assert_snapshot!("help_overlay_80x24", text(&buffer));
}

#[test]
fn empty_state() {
    let buffer = draw(&loaded(Vec::new()), &default_theme(), 80, 24);
    let screen = text(&buffer);
    assert!(screen.contains("certpilot cert add NAME --name example.com"));
    insta::assert_snapshot!("empty_80x24", screen);
}

#[test]
fn first_load_in_progress_and_failed() {
    let mut state = State::new();
    update(&mut state, Msg::Action(Action::Reload));
    insta::assert_snapshot!(
        "loading_80x24",
        text(&draw(&state, &default_theme(), 80, 24))
    );
    update(
        &mut state,
        Msg::Loaded {
            request: 1,
            result: Err("certpilot.toml: line 3: bad key".into()),
        },
    );
    insta::assert_snapshot!(
        "load_failed_80x24",
        text(&draw(&state, &default_theme(), 80, 24))
    );
}

#[test]
fn too_small_draws_only_the_message() {
    let state = loaded(fixture_rows());
    for (width, height) in [(79, 24), (80, 23)] {
        let screen = text(&draw(&state, &default_theme(), width, height));
        assert!(
            screen.contains("Terminal too small"),
            "{width}×{height}:\n{screen}"
        );
        assert!(
            !screen.contains("legacy"),
            "{width}×{height} drew the table:\n{screen}"
        );
    }
    insta::assert_snapshot!(
        "too_small_60x20",
        text(&draw(&state, &default_theme(), 60, 20))
    );
}

#[test]
fn each_builtin_theme() {
    let mut state = loaded(fixture_rows());
    // Select "staging" so the rows checked for urgency colours are not under the selection.
    update(&mut state, Msg::Action(Action::MoveDown));
    for (name, _) in BUILTIN {
        let theme = Theme::builtin(name, false).unwrap();
        let buffer = draw(&state, &theme, 80, 24);
        insta::assert_snapshot!(format!("theme_{name}"), text(&buffer));

        // Expired days are in the error slot, far-off days in the ok slot.
        let (x, y) = find(&buffer, "-3");
        assert_eq!(
            buffer[(x, y)].fg,
            theme.error.fg.unwrap_or(Color::Reset),
            "{name}: -3"
        );
        let (x, y) = find(&buffer, "88");
        assert_eq!(
            buffer[(x, y)].fg,
            theme.ok.fg.unwrap_or(Color::Reset),
            "{name}: 88"
        );
        // The selected row carries the selection style.
        let (x, y) = find(&buffer, "staging ");
        let cell = &buffer[(x, y)];
        if let Some(bg) = theme.selection.bg {
            assert_eq!(cell.bg, bg, "{name}: selection bg");
        }
        assert!(
            cell.modifier.contains(theme.selection.add_modifier),
            "{name}: selection modifiers"
        );
        // The background of themes that set one covers the screen.
        if let Some(bg) = theme.text.bg {
            assert_eq!(buffer[(0, 23)].bg, bg, "{name}: status bar background");
        }
    }
}

#[test]
fn no_color_renders_without_any_colour() {
    let state = loaded(fixture_rows());
    for (name, _) in BUILTIN {
        let theme = Theme::builtin(name, true).unwrap();
        let buffer = draw(&state, &theme, 80, 24);
        for cell in &buffer.content {
            assert_eq!((cell.fg, cell.bg), (Color::Reset, Color::Reset), "{name}");
        }
        assert_eq!(text(&buffer), text(&draw(&state, &default_theme(), 80, 24)));
    }
}
