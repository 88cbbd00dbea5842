//! The CNAME that delegates `_acme-challenge.<domain>` to an acme-dns account, in the forms
//! people paste into zone files and provider web UIs.
//!
//! Pure: no I/O.

use crate::domain::names;

/// `_acme-challenge.<domain>. IN CNAME <fulldomain>.`: the one record a user creates once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CnameRecord {
    /// The delegated domain, without `*.` (`example.com`).
    pub domain: String,
    /// The owner, without trailing dot (`_acme-challenge.example.com`).
    pub owner: String,
    /// The account's fulldomain, without trailing dot.
    pub target: String,
}

impl CnameRecord {
    /// The record for `domain` (a wildcard counts as its base) pointing at `fulldomain`.
    #[must_use]
    pub fn new(domain: &str, fulldomain: &str) -> Self {
        let domain = names::base_domain(domain.trim_end_matches('.')).to_owned();
        Self {
            owner: names::challenge_owner(&domain),
            target: fulldomain.trim_end_matches('.').to_ascii_lowercase(),
            domain,
        }
    }

    /// The absolute zone-file line, both names with their trailing dot.
    #[must_use]
    pub fn zone_line(&self) -> String {
        format!("{}. IN CNAME {}.", self.owner, self.target)
    }

    /// The owner relative to `zone` (`_acme-challenge` in `example.com`,
    /// `_acme-challenge.www` for `www.example.com` in `example.com`); `None` when the owner
    /// is not inside `zone`.
    #[must_use]
    pub fn relative_owner(&self, zone: &str) -> Option<String> {
        let zone = zone.trim_end_matches('.').to_ascii_lowercase();
        self.owner
            .strip_suffix(&zone)
            .and_then(|rest| rest.strip_suffix('.'))
            .filter(|rest| !rest.is_empty())
            .map(str::to_owned)
    }

    /// Everything a user needs to create the record: the zone-file line, the relative form for
    /// a web UI (`zone` is the zone holding the domain; the domain itself when unknown), and
    /// name/type/value fields, with the mistakes people make most often.
    #[must_use]
    pub fn instructions(&self, zone: Option<&str>) -> String {
        let zone = zone
            .map(|z| z.trim_end_matches('.').to_ascii_lowercase())
            .filter(|z| self.relative_owner(z).is_some())
            .unwrap_or_else(|| self.domain.clone());
        let relative = self
            .relative_owner(&zone)
            .unwrap_or_else(|| "_acme-challenge".to_owned());
        let doubled = format!("{}.{zone}", self.owner);
        format!(
            "Create this CNAME record once; it stays for every renewal:\n\
             \n\
             \x20 zone file line:  {line}\n\
             \n\
             \x20 web UI (zone {zone}):\n\
             \x20   name:   {relative}\n\
             \x20   type:   CNAME\n\
             \x20   target: {target}\n\
             \n\
             \x20 fields (absolute):\n\
             \x20   name:   {owner}\n\
             \x20   type:   CNAME\n\
             \x20   value:  {target}\n\
             \n\
             Most UIs append the zone to the name: enter {relative}, not {owner}, or the \
             record becomes {doubled}.\n\
             Create a CNAME, not a TXT record, and delete any TXT record left at {owner}: a \
             name with a CNAME cannot hold anything else.",
            line = self.zone_line(),
            owner = self.owner,
            target = self.target,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_line_is_absolute_with_both_dots() {
        let cases = [
            (
                "example.com",
                "abc.auth.example.org",
                "_acme-challenge.example.com. IN CNAME abc.auth.example.org.",
            ),
            (
                "*.example.com",
                "abc.auth.example.org.",
                "_acme-challenge.example.com. IN CNAME abc.auth.example.org.",
            ),
            (
                "www.example.com.",
                "ABC.Auth.Example.org",
                "_acme-challenge.www.example.com. IN CNAME abc.auth.example.org.",
            ),
        ];
        for (domain, target, want) in cases {
            assert_eq!(
                CnameRecord::new(domain, target).zone_line(),
                want,
                "{domain}"
            );
        }
    }

    #[test]
    fn relative_owner_in_zone() {
        let www = CnameRecord::new("www.example.com", "x.auth.example.org");
        let apex = CnameRecord::new("example.com", "x.auth.example.org");
        let cases = [
            (&apex, "example.com", Some("_acme-challenge")),
            (&apex, "example.com.", Some("_acme-challenge")),
            (&www, "example.com", Some("_acme-challenge.www")),
            (&www, "www.example.com", Some("_acme-challenge")),
            (&apex, "ample.com", None),
            (&apex, "example.org", None),
            (&apex, "_acme-challenge.example.com", None),
        ];
        for (record, zone, want) in cases {
            assert_eq!(
                record.relative_owner(zone).as_deref(),
                want,
                "{} in {zone}",
                record.owner
            );
        }
    }

    #[test]
    fn instructions_hold_every_form_and_warn_about_doubling() {
        let text = CnameRecord::new("www.example.com", "x.auth.example.org")
            .instructions(Some("example.com"));
        for want in [
            "_acme-challenge.www.example.com. IN CNAME x.auth.example.org.",
            "web UI (zone example.com)",
            "name:   _acme-challenge.www\n",
            "name:   _acme-challenge.www.example.com\n",
            "value:  x.auth.example.org",
            "_acme-challenge.www.example.com.example.com",
            "not a TXT record",
        ] {
            assert!(text.contains(want), "missing {want:?} in\n{text}");
        }
    }

    #[test]
    fn unknown_or_unrelated_zone_falls_back_to_the_domain() {
        let record = CnameRecord::new("www.example.com", "x.auth.example.org");
        for zone in [None, Some("example.org")] {
            let text = record.instructions(zone);
            assert!(text.contains("web UI (zone www.example.com)"), "{text}");
            assert!(text.contains("name:   _acme-challenge\n"), "{text}");
        }
    }
}
