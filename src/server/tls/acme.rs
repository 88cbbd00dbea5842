//! `tls = "acme"`: the server gets its API certificate from an ACME CA by DNS-01 through its
//! own zone, with certpilot's ACME engine: the challenge TXT at `_acme-challenge.<name>` is
//! answered by this server's DNS side. The ACME account and the certificate's private key live
//! in the keyring; the chain (public) in a file beside the config. A renewal swaps the served
//! certificate in place (zero downtime) once a third of its lifetime is left.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use super::slot::{certified_key, CertSlot};
use super::TlsError;
use crate::acme::{account, http, keys, order};
use crate::config::KeyType;
use crate::secrets::{Keystore, SecretRef};
use crate::server::dns::Authority;

/// How long the CA may take to validate and to issue.
const CA_WAIT: Duration = Duration::from_secs(120);
/// After a failed renewal, try again after this long.
const RETRY: Duration = Duration::from_secs(600);

/// Everything the ACME side needs.
pub(crate) struct AcmeTls {
    /// ACME directory URL (a preset already resolved).
    pub directory: String,
    /// Extra CA certificates to trust for the CA's HTTPS (test CAs).
    pub ca_bundle: Option<PathBuf>,
    /// Contact address for the account.
    pub email: Option<String>,
    /// Names on the certificate (inside the zone).
    pub names: Vec<String>,
    /// Where the chain is kept.
    pub chain_file: PathBuf,
    /// The keyring.
    pub keystore: Keystore,
    /// The zone (names the keyring entries).
    pub zone: String,
    /// Renew when fewer than this many days are left (`None`: at a third of the lifetime).
    pub renew_before: Option<Duration>,
    /// How often to check whether renewal is due.
    pub check_every: Duration,
}

impl AcmeTls {
    fn account_ref(&self) -> SecretRef {
        SecretRef::Account(format!("acme-dns-server:{}", self.zone))
    }

    fn key_ref(&self) -> SecretRef {
        SecretRef::CertKey {
            cert: format!("acme-dns-api:{}", self.zone),
            key_id: "current".into(),
        }
    }

    /// The stored certificate if it loads and is not due for renewal.
    pub async fn stored(&self) -> Option<rustls::sign::CertifiedKey> {
        let chain = tokio::fs::read_to_string(&self.chain_file).await.ok()?;
        let (keystore, key_ref) = (self.keystore.clone(), self.key_ref());
        let key = crate::secrets::blocking(move || keystore.get(&key_ref))
            .await
            .ok()??;
        if self.due(&chain) {
            return None;
        }
        certified_key(chain.as_bytes(), key.as_bytes()).ok()
    }

    /// Whether `chain` should be renewed now (or cannot be read).
    fn due(&self, chain: &str) -> bool {
        let Ok(info) = crate::cert::inspect::inspect_chain_pem(chain) else {
            return true;
        };
        let now = OffsetDateTime::now_utc();
        let left = info.not_after - now;
        match self.renew_before {
            Some(margin) => left < margin,
            None => left < (info.not_after - info.not_before) / 3,
        }
    }

    /// Order a certificate, answer its DNS-01 challenges from `authority`, store the key in
    /// the keyring and the chain in its file.
    pub async fn obtain(
        &self,
        authority: &Authority,
    ) -> Result<rustls::sign::CertifiedKey, TlsError> {
        let acme = |e: &dyn std::fmt::Display| TlsError::Acme(e.to_string());
        let client = http::client(self.ca_bundle.as_deref()).map_err(|e| acme(&e))?;
        let account = self.account(&client).await?;
        let mut order = order::create(&account, &self.names, None, None)
            .await
            .map_err(|e| acme(&e))?;
        let records = order::collect_records(&mut order, None)
            .await
            .map_err(|e| acme(&e))?;
        authority.set_challenges(&records);
        let validated = async {
            order::answer_challenges(&mut order, None).await?;
            order::wait_valid(&mut order, CA_WAIT).await
        }
        .await;
        authority.clear_challenges();
        validated.map_err(|e| acme(&e))?;
        let key = tokio::task::spawn_blocking(|| keys::generate(KeyType::EcdsaP256))
            .await
            .map_err(|e| acme(&e))?
            .map_err(|e| acme(&e))?;
        let csr = keys::csr_der(&self.names, &key).map_err(|e| acme(&e))?;
        let chain = order::finalize(&mut order, &csr, CA_WAIT)
            .await
            .map_err(|e| acme(&e))?;
        let key_pem = key.serialize_pem();
        let certified = certified_key(chain.as_bytes(), key_pem.as_bytes())?;
        let (keystore, key_ref) = (self.keystore.clone(), self.key_ref());
        crate::secrets::blocking(move || keystore.put(&key_ref, &key_pem))
            .await
            .map_err(|e| acme(&e))?;
        let (path, text) = (self.chain_file.clone(), chain.clone());
        tokio::task::spawn_blocking(move || {
            crate::fsutil::write_atomic(&path, text.as_bytes(), crate::fsutil::Mode::Public)
        })
        .await
        .map_err(|e| acme(&e))?
        .map_err(|source| TlsError::Read {
            path: self.chain_file.clone(),
            source,
        })?;
        tracing::info!(names = ?self.names, "API certificate obtained");
        Ok(certified)
    }

    /// The server's ACME account: restored from the keyring, or registered and stored.
    async fn account(&self, client: &http::AcmeHttp) -> Result<instant_acme::Account, TlsError> {
        let acme = |e: &dyn std::fmt::Display| TlsError::Acme(e.to_string());
        let (keystore, account_ref) = (self.keystore.clone(), self.account_ref());
        let stored = crate::secrets::blocking(move || keystore.get(&account_ref))
            .await
            .map_err(|e| acme(&e))?;
        if let Some(json) = stored {
            let name = format!("acme-dns-server:{}", self.zone);
            return account::restore(client, &name, &json)
                .await
                .map_err(|e| acme(&e));
        }
        let (account, json, _) =
            account::register(client, &self.directory, self.email.as_deref(), None)
                .await
                .map_err(|e| acme(&e))?;
        let (keystore, account_ref) = (self.keystore.clone(), self.account_ref());
        crate::secrets::blocking(move || keystore.put(&account_ref, &json))
            .await
            .map_err(|e| acme(&e))?;
        Ok(account)
    }

    /// Check now and then; renew when due and swap the certificate in `slot`.
    pub async fn renew_loop(self, slot: Arc<CertSlot>, authority: Arc<Authority>) {
        let mut wait = self.check_every;
        loop {
            tokio::time::sleep(wait).await;
            wait = self.check_every;
            if self.stored().await.is_some() {
                continue;
            }
            match self.obtain(&authority).await {
                Ok(certified) => {
                    slot.set(Arc::new(certified));
                    tracing::info!("API certificate renewed and swapped in");
                }
                Err(error) => {
                    tracing::warn!(%error, "API certificate renewal failed; keeping the current one");
                    wait = RETRY.min(self.check_every.max(Duration::from_secs(1)) * 10);
                }
            }
        }
    }
}
