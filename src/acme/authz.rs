//! An order's authorizations fetched, and their DNS-01 challenges answered, concurrently
//! (at most the CA's bound on requests in flight at once), through a [`jws::Signer`].
//!
//! What was fetched is kept: answering needs each challenge's URL, and a retry after a
//! failure fetches only what is still missing.

use std::sync::Arc;

use futures::stream::{self, StreamExt};
use instant_acme::{
    AuthorizationState, AuthorizationStatus, Challenge, ChallengeStatus, ChallengeType, Error,
    Order,
};

use super::jws::{self, Signer};

/// One order's authorizations as fetched by a [`Signer`].
pub struct Concurrent {
    signer: Arc<Signer>,
    thumbprint: String,
    /// (authorization URL, its state), in the order's order.
    fetched: Vec<(String, Option<AuthorizationState>)>,
    /// Challenge URLs answered already (a retry does not answer them twice).
    answered: Vec<String>,
}

/// One pending DNS-01 challenge: the name, its TXT value.
pub struct Pending {
    /// The identifier as the CA spells it (`*.example.com` for a wildcard).
    pub identifier: String,
    /// The TXT value.
    pub value: String,
}

impl Concurrent {
    /// For `signer`'s account, whose key has `thumbprint`.
    #[must_use]
    pub fn new(signer: Arc<Signer>, thumbprint: String) -> Self {
        Self {
            signer,
            thumbprint,
            fetched: Vec::new(),
            answered: Vec::new(),
        }
    }

    /// Fetch every authorization of `order` not fetched yet, concurrently.
    ///
    /// # Errors
    /// The first failed request (what succeeded is kept for the next attempt).
    pub async fn fetch(&mut self, order: &mut Order) -> Result<(), Error> {
        if self.fetched.is_empty() {
            // The order's own cached states are not cloneable: fetch every one.
            self.fetched = order
                .state()
                .authorizations
                .iter()
                .map(|a| (a.url.clone(), None))
                .collect();
        }
        // Owned futures (no borrowed closures): the issuance future must stay `Send`.
        let missing: Vec<_> = self
            .fetched
            .iter()
            .enumerate()
            .filter(|(_, (_, state))| state.is_none())
            .map(|(i, (url, _))| {
                let (signer, url) = (Arc::clone(&self.signer), url.clone());
                async move { (i, signer.fetch::<AuthorizationState>(&url).await) }
            })
            .collect();
        let results: Vec<_> = stream::iter(missing)
            .buffer_unordered(self.signer.max_in_flight())
            .collect()
            .await;
        let mut first_err = None;
        for (i, result) in results {
            match result {
                Ok(state) => self.fetched[i].1 = Some(state),
                Err(e) => first_err = first_err.or(Some(e)),
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// The pending DNS-01 challenges (valid authorizations are reused by the CA).
    ///
    /// # Errors
    /// Why DNS-01 cannot complete the first authorization it cannot complete.
    pub fn pending(&self) -> Result<Vec<Pending>, String> {
        let mut out = Vec::new();
        for state in self.fetched.iter().filter_map(|(_, s)| s.as_ref()) {
            let identifier = state.identifier().to_string();
            match state.status {
                AuthorizationStatus::Pending => {}
                AuthorizationStatus::Valid => continue,
                other => return Err(format!("{identifier}: authorization is {other:?}")),
            }
            let Some(challenge) = dns01(state) else {
                return Err(format!("{identifier}: the CA offers no dns-01 challenge"));
            };
            out.push(Pending {
                identifier,
                value: jws::dns_value(&challenge.token, &self.thumbprint),
            });
        }
        Ok(out)
    }

    /// Tell the CA to validate every pending DNS-01 challenge, concurrently.
    ///
    /// # Errors
    /// The first failed answer (the ones that succeeded are not sent again).
    pub async fn answer(&mut self) -> Result<(), Error> {
        let todo: Vec<String> = self
            .fetched
            .iter()
            .filter_map(|(_, s)| s.as_ref())
            .filter(|s| s.status == AuthorizationStatus::Pending)
            .filter_map(dns01)
            // A resumed order's challenge may be answered already (processing).
            .filter(|c| c.status == ChallengeStatus::Pending)
            .map(|c| c.url.clone())
            .filter(|url| !self.answered.contains(url))
            .collect();
        let answers: Vec<_> = todo
            .into_iter()
            .map(|url| {
                let signer = Arc::clone(&self.signer);
                async move {
                    let result = match signer.post_empty::<Challenge>(&url).await {
                        Ok(Challenge {
                            error: Some(problem),
                            ..
                        }) => Err(Error::Api(problem)),
                        Ok(_) => Ok(()),
                        Err(e) => Err(e),
                    };
                    (url, result)
                }
            })
            .collect();
        let results: Vec<_> = stream::iter(answers)
            .buffer_unordered(self.signer.max_in_flight())
            .collect()
            .await;
        let mut first_err = None;
        for (url, result) in results {
            match result {
                Ok(()) => self.answered.push(url),
                Err(e) => first_err = first_err.or(Some(e)),
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}

fn dns01(state: &AuthorizationState) -> Option<&Challenge> {
    state
        .challenges
        .iter()
        .find(|c| c.r#type == ChallengeType::Dns01)
}
