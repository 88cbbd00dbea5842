//! The propagation matrix screen: a titled border around [`super::matrix`].

use ratatui::layout::Rect;
use ratatui::Frame;

use crate::tui::screens::propagation::PropagationScreen;
use crate::tui::state::State;
use crate::tui::theme::Theme;
use crate::tui::views::matrix;
use crate::tui::views::widgets::panel;

/// Draw the screen.
pub fn render(
    frame: &mut Frame,
    area: Rect,
    screen: &PropagationScreen,
    state: &State,
    theme: &Theme,
) {
    let block = panel(&format!("propagation · {}", screen.title), true, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    matrix::render(frame, inner, &screen.watch, state, theme);
}
