//! The certificate profiles (ACME profiles extension) each configured account's CA lists in
//! its directory's `meta.profiles`, for the certificate editor.

use std::collections::BTreeMap;

use futures::future::join_all;

use super::Context;
use crate::acme::account;
use crate::acme::ca_client::CaClient;
use crate::acme::http;

/// Per account: its CA's profiles (name, description, in name order) or why they could not
/// be read.
pub type Offered = BTreeMap<String, Result<Vec<(String, String)>, String>>;

/// Read every configured account's CA directory at once (one request each, `--ca-timeout`
/// each).
pub async fn load(ctx: &Context) -> Offered {
    let config = match ctx.config() {
        Ok(config) => config,
        Err(e) => return Offered::from([(String::new(), Err(e.to_string()))]),
    };
    let reads = config.accounts.iter().map(|(name, account)| {
        let bundle = ctx.ca_bundle_for(&config, name);
        async move {
            let client = http::client(bundle.as_deref()).map_err(|e| e.to_string());
            let listed = match client {
                Ok(client) => {
                    let client = CaClient::new(client, ctx.ca_timeout());
                    account::directory(&client, &account.directory)
                        .await
                        .map(|doc| doc.meta.profiles.into_iter().collect())
                        .map_err(|e| e.to_string())
                }
                Err(e) => Err(e),
            };
            (name.clone(), listed)
        }
    });
    join_all(reads).await.into_iter().collect()
}
