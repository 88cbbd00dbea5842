//! Which certificates use an account, and moving them: what `account add` (a second account),
//! `account remove --reassign` and the TUI need so that no certificate is left without one.

use super::Config;

impl Config {
    /// Certificates that use account `name`: naming it, or naming none while it is the only
    /// account. Sorted by certificate name.
    #[must_use]
    pub fn certificates_using(&self, name: &str) -> Vec<String> {
        self.certificates
            .iter()
            .filter(|(_, cert)| self.account_for(cert) == Some(name))
            .map(|(cert, _)| cert.clone())
            .collect()
    }

    /// Before a second account is added: certificates that name no account use the only one
    /// implicitly, which would become ambiguous; name it for them. Returns those certificates.
    pub fn pin_default_account(&mut self) -> Vec<String> {
        if self.accounts.len() != 1 {
            return Vec::new();
        }
        let Some(only) = self.accounts.keys().next().cloned() else {
            return Vec::new();
        };
        let mut pinned = Vec::new();
        for (name, cert) in &mut self.certificates {
            if cert.account.is_none() {
                cert.account = Some(only.clone());
                pinned.push(name.clone());
            }
        }
        pinned
    }

    /// Make every certificate that uses `from` use `to` instead. Returns those certificates.
    pub fn reassign_account(&mut self, from: &str, to: &str) -> Vec<String> {
        let moved = self.certificates_using(from);
        for name in &moved {
            if let Some(cert) = self.certificates.get_mut(name) {
                cert.account = Some(to.to_owned());
            }
        }
        moved
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(accounts: &[&str], certs: &[(&str, Option<&str>)]) -> Config {
        let mut text = String::new();
        for a in accounts {
            text.push_str(&format!(
                "[accounts.{a}]\ndirectory = \"https://ca.test/dir\"\n"
            ));
        }
        for (c, a) in certs {
            text.push_str(&format!(
                "[certificates.{c}]\nnames = [\"{c}.example.com\"]\n"
            ));
            if let Some(a) = a {
                text.push_str(&format!("account = \"{a}\"\n"));
            }
        }
        let config: Config = toml::from_str(&text).unwrap();
        config
    }

    #[test]
    fn users_pins_and_reassignment() {
        let mut one = config(&["le"], &[("web", None), ("mail", Some("le"))]);
        assert_eq!(one.certificates_using("le"), ["mail", "web"]);
        assert_eq!(one.pin_default_account(), ["web"]);
        assert_eq!(one.certificates["web"].account.as_deref(), Some("le"));

        let mut two = config(&["le", "zs"], &[("web", None), ("mail", Some("le"))]);
        assert_eq!(
            two.certificates_using("le"),
            ["mail"],
            "no implicit user among two"
        );
        assert!(two.pin_default_account().is_empty());
        assert_eq!(two.reassign_account("le", "zs"), ["mail"]);
        assert_eq!(two.certificates_using("zs"), ["mail"]);
        assert!(two.certificates_using("le").is_empty());
    }
}
