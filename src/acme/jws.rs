//! Signed ACME requests (RFC 8555 §6.2) that may be in flight at the same time.
//!
//! instant-acme threads one nonce through an order's `&mut` handles, so its authorization
//! fetches and challenge answers run one after another: a 100-name order costs 200
//! sequential round trips, 10–30 s at a real CA's 50–150 ms. instant-acme does not expose
//! its signer, so this module signs the two requests that need nothing from an order's
//! state — the POST-as-GET of an authorization and the `{}` POST that answers a challenge —
//! with the account's own key (from the same credentials), through the same [`CaClient`]
//! (deadline, per-CA bounds) and with the CA's shared pool of nonces
//! ([`super::ca_shared`]): every answer brings a fresh one, so after the first few no
//! request waits for `newNonce`.
//!
//! A [`Signer`] is registered when an account is restored ([`register`]) and found by the
//! account's URL ([`for_account`]); without one, orders take instant-acme's sequential path.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use bytes::Bytes;
use http::header::{CONTENT_TYPE, USER_AGENT};
use http::{Method, Request, StatusCode};
use instant_acme::{Account, BodyWrapper, Error, HttpClient, Problem};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde::de::DeserializeOwned;

use super::ca_client::{CaClient, KeepNonce, NonceTurnTaken, SlotHeld};
use super::ca_shared::{CaShared, NEW_NONCE_BURST};
use super::problem;

const AGENT: &str = concat!("certpilot/", env!("CARGO_PKG_VERSION"));

/// Signs and sends requests for one account; cheap to share.
pub struct Signer {
    key: EcdsaKeyPair,
    rng: SystemRandom,
    kid: String,
    http: CaClient,
    /// The directory URL, or (old credentials) the `newNonce` URL itself.
    directory: Directory,
    new_nonce: tokio::sync::OnceCell<String>,
    /// The CA's bounds and pool of nonces, shared with every other client of the CA.
    shared: Arc<CaShared>,
}

/// What a fresh nonce is for.
#[derive(Clone, Copy)]
enum NonceFor {
    /// The caller's next request, under the slot it holds.
    Use,
    /// The CA's pool (warming up; takes a slot of its own).
    Pool,
}

enum Directory {
    Url(String),
    NewNonce(String),
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

fn registry() -> &'static Mutex<HashMap<String, Arc<Signer>>> {
    static SIGNERS: OnceLock<Mutex<HashMap<String, Arc<Signer>>>> = OnceLock::new();
    SIGNERS.get_or_init(Mutex::default)
}

/// Make `credentials_json` (instant-acme's `AccountCredentials`) sign concurrent requests
/// through `http`. Credentials this module cannot use (not a P-256 key) are skipped: their
/// orders take the sequential path.
pub fn register(credentials_json: &str, http: &CaClient) {
    match Signer::from_credentials(credentials_json, http.clone()) {
        Ok(signer) => {
            let kid = signer.kid.clone();
            registry()
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(kid, Arc::new(signer));
        }
        Err(why) => tracing::debug!(why, "no concurrent signer for this account"),
    }
}

/// The signer of `account`, if one was registered.
#[must_use]
pub fn for_account(account: &Account) -> Option<Arc<Signer>> {
    registry()
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(account.id())
        .cloned()
}

impl Signer {
    fn from_credentials(json: &str, http: CaClient) -> Result<Self, String> {
        let value: serde_json::Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
        let text = |key: &str| value.get(key).and_then(|v| v.as_str()).map(str::to_owned);
        let kid = text("id").ok_or("no id")?;
        let pkcs8 = URL_SAFE_NO_PAD
            .decode(text("key_pkcs8").ok_or("no key")?)
            .map_err(|e| e.to_string())?;
        let rng = SystemRandom::new();
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &pkcs8, &rng)
            .map_err(|e| e.to_string())?;
        let directory = match (text("directory"), value.pointer("/urls/newNonce")) {
            (Some(url), _) => Directory::Url(url),
            (None, Some(serde_json::Value::String(url))) => Directory::NewNonce(url.clone()),
            _ => return Err("no directory".into()),
        };
        let shared = match &directory {
            Directory::Url(url) | Directory::NewNonce(url) => http.shared(url),
        };
        Ok(Self {
            key,
            rng,
            kid,
            http,
            directory,
            new_nonce: tokio::sync::OnceCell::new(),
            shared,
        })
    }

    /// How many requests the CA takes from this process at once.
    #[must_use]
    pub fn max_in_flight(&self) -> usize {
        self.shared.limits().in_flight
    }

    /// POST-as-GET `url` and decode the answer.
    ///
    /// # Errors
    /// The CA's problem document (after [`problem::NONCE_ATTEMPTS`] rejected nonces at most),
    /// or a transport or decoding error.
    pub async fn fetch<T: DeserializeOwned>(&self, url: &str) -> Result<T, Error> {
        let body = self.post(url, "").await?;
        Ok(serde_json::from_slice(&body)?)
    }

    /// POST `{}` to `url` (answering a challenge) and decode the answer.
    ///
    /// # Errors
    /// As [`Signer::fetch`].
    pub async fn post_empty<T: DeserializeOwned>(&self, url: &str) -> Result<T, Error> {
        let body = self.post(url, &URL_SAFE_NO_PAD.encode(b"{}")).await?;
        Ok(serde_json::from_slice(&body)?)
    }

    async fn post(&self, url: &str, payload: &str) -> Result<Bytes, Error> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            // The slot first, then the nonce: see [`SlotHeld`].
            let _slot = self.shared.slot().await;
            let nonce = self.nonce().await?;
            let body = self.sign(url, &nonce, payload)?;
            let req = Request::builder()
                .method(Method::POST)
                .uri(url)
                .header(USER_AGENT, AGENT)
                .header(CONTENT_TYPE, "application/jose+json")
                .extension(KeepNonce)
                .extension(SlotHeld)
                .body(BodyWrapper::from(body))?;
            let mut rsp = self.http.request(req).await?;
            let status = rsp.parts.status;
            let body = rsp.body.into_bytes().await.map_err(Error::Other)?;
            if status.is_success() {
                return Ok(body);
            }
            let err = match serde_json::from_slice::<Problem>(&body) {
                Ok(p) => Error::Api(p),
                Err(_) => Error::Other(format!("{url}: HTTP {status}").into()),
            };
            if !(problem::is_bad_nonce(&err) && attempt < problem::NONCE_ATTEMPTS) {
                return Err(err);
            }
            tracing::debug!(attempt, url, "badNonce, retrying");
        }
    }

    /// The flattened JWS of `payload` (already base64url) for `url`.
    fn sign(&self, url: &str, nonce: &str, payload: &str) -> Result<Vec<u8>, Error> {
        let header =
            serde_json::json!({"alg": "ES256", "kid": self.kid, "nonce": nonce, "url": url});
        let protected = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header)?);
        let input = format!("{protected}.{payload}");
        let signature = self
            .key
            .sign(&self.rng, input.as_bytes())
            .map_err(|_| Error::Str("signing failed"))?;
        let jws = serde_json::json!({
            "protected": protected,
            "payload": payload,
            "signature": URL_SAFE_NO_PAD.encode(signature.as_ref()),
        });
        Ok(serde_json::to_vec(&jws)?)
    }

    /// A nonce from the CA's pool (or coming back to it), else a fresh one from `newNonce`,
    /// asked under the slot the caller holds.
    async fn nonce(&self) -> Result<String, Error> {
        match self.shared.nonce_or_turn().await {
            Some(nonce) => Ok(nonce),
            None => self.new_nonce(NonceFor::Use).await,
        }
    }

    /// A fresh nonce from `newNonce`.
    async fn new_nonce(&self, purpose: NonceFor) -> Result<String, Error> {
        let url = self.new_nonce_url().await?;
        let mut req = Request::builder()
            .method(Method::HEAD)
            .uri(url)
            .header(USER_AGENT, AGENT);
        req = match purpose {
            NonceFor::Use => req.extension(SlotHeld).extension(NonceTurnTaken),
            NonceFor::Pool => req.extension(KeepNonce),
        };
        let rsp = self.http.request(req.body(BodyWrapper::default())?).await?;
        if rsp.parts.status != StatusCode::OK && rsp.parts.status != StatusCode::NO_CONTENT {
            return Err(Error::Str("error response from newNonce"));
        }
        rsp.parts
            .headers
            .get("replay-nonce")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or(Error::Str("no nonce in the newNonce response"))
    }

    async fn new_nonce_url(&self) -> Result<&str, Error> {
        let url = self
            .new_nonce
            .get_or_try_init(|| async {
                match &self.directory {
                    Directory::NewNonce(url) => Ok(url.clone()),
                    Directory::Url(dir) => self.directory_new_nonce(dir).await,
                }
            })
            .await?;
        Ok(url)
    }

    async fn directory_new_nonce(&self, dir: &str) -> Result<String, Error> {
        let req = Request::builder()
            .method(Method::GET)
            .uri(dir)
            .header(USER_AGENT, AGENT)
            .body(BodyWrapper::default())?;
        let mut rsp = self.http.request(req).await?;
        let body = rsp.body.into_bytes().await.map_err(Error::Other)?;
        let value: serde_json::Value = serde_json::from_slice(&body)?;
        value
            .get("newNonce")
            .and_then(|v| v.as_str())
            .map(str::to_owned)
            .ok_or(Error::Str("the directory names no newNonce"))
    }

    /// Fetch the directory and fill the CA's pool with nonces for a round of requests in
    /// flight (at most `newNonce`'s burst), before they are needed: meant to run while the
    /// order is being created. Orders starting together fill the pool once. Errors are left
    /// for the request that needs the nonce to report.
    pub async fn warm_up(&self) {
        let _filling = self.shared.warming().await;
        // One slot stays free for the order being created meanwhile.
        let want = (self.max_in_flight() - 1)
            .clamp(1, NEW_NONCE_BURST as usize)
            .saturating_sub(self.shared.pooled());
        if want == 0 || self.new_nonce_url().await.is_err() {
            return;
        }
        futures::future::join_all((0..want).map(|_| self.new_nonce(NonceFor::Pool))).await;
    }
}

/// The DNS-01 TXT value of a challenge `token` for an account key `thumbprint` (RFC 8555
/// §8.4: base64url of the SHA-256 of the key authorization).
#[must_use]
pub fn dns_value(token: &str, thumbprint: &str) -> String {
    let digest = ring::digest::digest(
        &ring::digest::SHA256,
        format!("{token}.{thumbprint}").as_bytes(),
    );
    URL_SAFE_NO_PAD.encode(digest.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::{KeyPair, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED};

    fn http() -> CaClient {
        let inner = super::super::http::client(None).expect("system roots");
        CaClient::new(inner, std::time::Duration::from_secs(5))
    }

    fn credentials() -> (String, Vec<u8>) {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let json = serde_json::json!({
            "id": "https://ca.test/acct/1",
            "key_pkcs8": URL_SAFE_NO_PAD.encode(pkcs8.as_ref()),
            "directory": "https://ca.test/dir",
        });
        (json.to_string(), pkcs8.as_ref().to_vec())
    }

    #[test]
    fn dns_values_follow_rfc_8555() {
        // base64url(SHA-256("<token>.<thumbprint>")), computed independently.
        assert_eq!(
            dns_value(
                "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA",
                "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
            ),
            "ZTRx1Ckl1-tM05o5zaizTTA0yUy5AGereMgSNWC6Ll8"
        );
    }

    #[test]
    fn requests_are_flattened_jws_signed_with_the_account_key() {
        let (json, pkcs8) = credentials();
        let signer = Signer::from_credentials(&json, http()).unwrap();
        let body = signer
            .sign("https://ca.test/authz/7", "nonce-1", "")
            .unwrap();
        let jws: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let protected = jws["protected"].as_str().unwrap();
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(protected).unwrap()).unwrap();
        assert_eq!(
            header,
            serde_json::json!({"alg": "ES256", "kid": "https://ca.test/acct/1",
                "nonce": "nonce-1", "url": "https://ca.test/authz/7"})
        );
        assert_eq!(jws["payload"], "", "POST-as-GET has an empty payload");
        let key = EcdsaKeyPair::from_pkcs8(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            &pkcs8,
            &SystemRandom::new(),
        )
        .unwrap();
        let signature = URL_SAFE_NO_PAD
            .decode(jws["signature"].as_str().unwrap())
            .unwrap();
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, key.public_key().as_ref())
            .verify(format!("{protected}.").as_bytes(), &signature)
            .expect("signature verifies with the account's public key");
    }

    #[test]
    fn unusable_credentials_are_refused() {
        let (json, _) = credentials();
        let mut value: serde_json::Value = serde_json::from_str(&json).unwrap();
        value["key_pkcs8"] = "AAAA".into();
        let cases = [
            ("not json", "{".to_owned()),
            ("bad key", value.to_string()),
            ("no id", json.replace("\"id\"", "\"ident\"")),
            ("no directory", json.replace("\"directory\"", "\"dir\"")),
        ];
        for (what, text) in cases {
            assert!(Signer::from_credentials(&text, http()).is_err(), "{what}");
        }
    }
}
