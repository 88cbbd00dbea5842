//! The editor's profile choice: the profiles (ACME profiles extension) each configured
//! account's CA lists in its directory, with their descriptions. They are read once when the
//! editor opens; until then, or when a CA cannot be read, the configured profile stays
//! selectable so that saving never drops it.

pub use crate::jobs::profiles::Offered;
use crate::tui::form::{Field, Form, Input};

/// The first option: no profile asked for.
pub const CA_DEFAULT: &str = "(the CA's default)";

/// The profile field for `account`, with `wanted` selected (kept as an option even when the
/// CA does not list it). `offered` is `None` while the profiles are being read.
#[must_use]
pub fn field(offered: Option<&Offered>, account: Option<&str>, wanted: Option<&str>) -> Field {
    let answer = account.and_then(|a| offered?.get(a));
    let listed: &[(String, String)] = match answer {
        Some(Ok(listed)) => listed,
        _ => &[],
    };
    let mut options = vec![CA_DEFAULT.to_owned()];
    options.extend(listed.iter().map(|(name, _)| name.clone()));
    if let Some(wanted) = wanted {
        if !listed.iter().any(|(name, _)| name == wanted) {
            options.push(wanted.to_owned());
        }
    }
    let selected = wanted
        .and_then(|w| options.iter().skip(1).position(|o| o == w))
        .map_or(0, |i| i + 1);
    let note = match (offered, answer) {
        (None, _) => "reading the CA's profiles…".to_owned(),
        (Some(_), Some(Err(e))) => format!("could not read the CA's profiles: {e}"),
        (Some(_), _) if selected == 0 && listed.is_empty() => {
            "the CA offers no profiles".to_owned()
        }
        (Some(_), _) if selected == 0 => format!("the CA picks; it offers {}", listed.len()),
        (Some(_), _) => listed
            .iter()
            .find(|(name, _)| Some(name.as_str()) == wanted)
            .map_or_else(|| "not offered by the CA".to_owned(), |(_, d)| d.clone()),
    };
    let mut field = Field::choice("profile", "Profile", options, selected);
    field.note = Some(note);
    field
}

/// The profile selected in `form` (`None`: the CA's default).
#[must_use]
pub fn selected(form: &Form) -> Option<String> {
    match form.field("profile").map(|f| &f.input) {
        Some(Input::Choice { options, selected }) if *selected > 0 => {
            options.get(*selected).cloned()
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offered() -> Offered {
        let mut offered = Offered::new();
        offered.insert(
            "le".into(),
            Ok(vec![
                ("classic".into(), "90 days".into()),
                ("shortlived".into(), "6 days".into()),
            ]),
        );
        offered.insert(
            "down".into(),
            Err(crate::ops::Error::Invalid("connection refused".into()).into()),
        );
        offered
    }

    fn shown(field: &Field) -> (Vec<String>, usize, String) {
        match &field.input {
            Input::Choice { options, selected } => {
                (options.clone(), *selected, field.note.clone().unwrap())
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_cas_profiles_are_offered_with_their_descriptions_and_the_configured_one_is_kept() {
        let offered = offered();
        let (options, selected, note) =
            shown(&field(Some(&offered), Some("le"), Some("shortlived")));
        assert_eq!(options, [CA_DEFAULT, "classic", "shortlived"]);
        assert_eq!((selected, note.as_str()), (2, "6 days"));
        let (_, selected, note) = shown(&field(Some(&offered), Some("le"), None));
        assert_eq!((selected, note.as_str()), (0, "the CA picks; it offers 2"));
        // Not listed (any more): still selected, so saving keeps it.
        let (options, selected, note) = shown(&field(Some(&offered), Some("le"), Some("old")));
        assert_eq!(
            (options[selected].as_str(), note.as_str()),
            ("old", "not offered by the CA")
        );
        let (options, selected, note) = shown(&field(Some(&offered), Some("down"), Some("x")));
        assert_eq!(options, [CA_DEFAULT, "x"]);
        assert_eq!(selected, 1);
        assert!(note.contains("connection refused"), "{note}");
        let (_, _, note) = shown(&field(None, Some("le"), None));
        assert!(note.starts_with("reading"), "{note}");
        let (options, _, note) = shown(&field(Some(&Offered::new()), Some("le"), None));
        assert_eq!(
            (options.len(), note.as_str()),
            (1, "the CA offers no profiles")
        );
    }

    #[test]
    fn the_selection_is_read_back() {
        let offered = offered();
        let form = Form::new(vec![field(Some(&offered), Some("le"), Some("classic"))]);
        assert_eq!(selected(&form).as_deref(), Some("classic"));
        let form = Form::new(vec![field(Some(&offered), Some("le"), None)]);
        assert_eq!(selected(&form), None);
    }
}
