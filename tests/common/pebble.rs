//! Pebble and pebble-challtestsrv (Debian packages) as child processes, killed on Drop.
//!
//! Pebble's HTTPS certificate is made here with rcgen, signed by a throwaway CA whose PEM
//! the tests hand to certpilot through `--ca-bundle`: TLS verification stays on.

use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::wait_for;

/// Knobs for one Pebble instance (all zero/empty by default).
#[derive(Clone, Debug, Default)]
pub struct PebbleOptions {
    /// PEBBLE_WFE_NONCEREJECT (percentage of good nonces rejected).
    pub nonce_reject: u8,
    /// PEBBLE_AUTHZREUSE (percentage of valid authorizations reused).
    pub authz_reuse: u8,
    /// Names Pebble refuses to issue for (`rejectedIdentifier`).
    pub blocklist: Vec<String>,
    /// External account binding keys (key id, base64url HMAC key); when set, Pebble
    /// requires EAB for new accounts.
    pub eab_keys: Vec<(String, String)>,
    /// The Pebble binary to run; `None`: Debian 12's `pebble` on PATH (2.4, no ARI, no
    /// profiles). [`unstable_binary`] gives Debian unstable's 2.10.
    pub binary: Option<PathBuf>,
    /// Certificate profiles (name, description, validity in seconds); Pebble 2.10 offers
    /// them in the directory's `meta.profiles`. Empty: Pebble's own default.
    pub profiles: Vec<(String, String, u64)>,
}

/// Debian unstable's Pebble (2.10: ARI, `set-renewal-info`, profiles), unpacked into
/// `target/pebble-2.10` by scripts/test-deps.sh. `None` (after printing why) when absent
/// outside CI; panics in CI.
pub fn unstable_binary() -> Option<PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/pebble-2.10");
    let binary = dir.join("usr/bin/pebble");
    if binary.is_file() {
        return Some(binary);
    }
    assert!(
        !super::in_ci(),
        "{} is required in CI (scripts/test-deps.sh fetches Debian unstable's pebble)",
        binary.display()
    );
    eprintln!(
        "SKIP: {} missing (run scripts/test-deps.sh)",
        binary.display()
    );
    None
}

/// A running Pebble + challtestsrv pair.
pub struct Pebble {
    pebble: Child,
    /// How Pebble was started (for [`Pebble::restart`]).
    command: (PathBuf, Vec<String>, Vec<(String, String)>),
    acme_port: u16,
    challtestsrv_proc: Child,
    _dir: tempfile::TempDir,
    /// ACME directory URL.
    pub directory: String,
    /// PEM of the CA that signed Pebble's HTTPS certificate.
    pub ca_bundle: PathBuf,
    /// challtestsrv's management URL.
    pub challtestsrv: String,
    /// challtestsrv's DNS address (`127.0.0.1:PORT`).
    pub dns: String,
    /// Pebble's management URL (roots, intermediates).
    pub management: String,
}

/// A random port below the kernel's ephemeral range (32768 and up on Linux), free for TCP
/// and, with `udp`, for UDP too. A port from `bind(":0")` comes from the ephemeral range,
/// where any test's outgoing connection may take it before Pebble binds it.
fn free_port(udp: bool) -> u16 {
    use std::hash::{BuildHasher, Hasher};
    loop {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u32(std::process::id());
        let port = 10_000 + u16::try_from(hasher.finish() % 22_000).unwrap();
        let tcp_free = TcpListener::bind(("127.0.0.1", port)).is_ok();
        if tcp_free && (!udp || UdpSocket::bind(("127.0.0.1", port)).is_ok()) {
            return port;
        }
    }
}

fn free_tcp_port() -> u16 {
    free_port(false)
}

/// A port free for both UDP and TCP (DNS listens on both).
fn free_dns_port() -> u16 {
    free_port(true)
}

fn tls_material(dir: &std::path::Path) -> (PathBuf, PathBuf, PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair, SanType};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "certpilot test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params
        .subject_alt_names
        .push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let leaf = params.signed_by(&key, &issuer).unwrap();
    let ca_path = dir.join("ca.pem");
    let cert_path = dir.join("cert.pem");
    let key_path = dir.join("key.pem");
    std::fs::write(&ca_path, ca.pem()).unwrap();
    std::fs::write(&cert_path, leaf.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    (ca_path, cert_path, key_path)
}

fn wait_tcp(port: u16, what: &str) {
    wait_for(what, Duration::from_secs(20), || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
}

impl Pebble {
    /// Start both; `None` (after printing why) when Pebble is not installed outside CI.
    pub fn start(opts: PebbleOptions) -> Option<Self> {
        Self::start_inner(opts, None)
    }

    /// Like [`Pebble::start`], but Pebble validates through `dns` (`IP:PORT`) instead of
    /// challtestsrv (which still runs, unused).
    pub fn start_with_dns(opts: PebbleOptions, dns: &str) -> Option<Self> {
        Self::start_inner(opts, Some(dns))
    }

    fn start_inner(opts: PebbleOptions, validation_dns: Option<&str>) -> Option<Self> {
        if opts.binary.is_none() && !super::require_tool("pebble") {
            return None;
        }
        if !super::require_tool("pebble-challtestsrv") {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let (ca_bundle, cert, key) = tls_material(dir.path());
        let dns_port = free_dns_port();
        let cts_port = free_tcp_port();
        let challtestsrv_proc = Command::new("pebble-challtestsrv")
            .args(["-dns01", &format!("127.0.0.1:{dns_port}")])
            .args(["-management", &format!("127.0.0.1:{cts_port}")])
            .args(["-http01", "", "-https01", "", "-tlsalpn01", ""])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start pebble-challtestsrv");
        let config_path = dir.path().join("pebble.json");
        let command = (
            opts.binary.clone().unwrap_or_else(|| "pebble".into()),
            vec![
                "-config".to_owned(),
                config_path.to_str().unwrap().to_owned(),
                "-dnsserver".to_owned(),
                validation_dns.map_or_else(|| format!("127.0.0.1:{dns_port}"), str::to_owned),
            ],
            vec![
                ("PEBBLE_VA_NOSLEEP".to_owned(), "1".to_owned()),
                (
                    "PEBBLE_WFE_NONCEREJECT".to_owned(),
                    opts.nonce_reject.to_string(),
                ),
                ("PEBBLE_AUTHZREUSE".to_owned(), opts.authz_reuse.to_string()),
            ],
        );
        wait_tcp(cts_port, "challtestsrv management port");
        // Another process may bind a port between our check and Pebble's bind: Pebble then
        // exits, and it is started again on fresh ports.
        let mut attempt = 0;
        let (pebble, acme_port, mgmt_port) = loop {
            attempt += 1;
            let acme_port = free_tcp_port();
            let mgmt_port = free_tcp_port();
            let config = pebble_config(&opts, acme_port, mgmt_port, &cert, &key);
            std::fs::write(&config_path, config.to_string()).unwrap();
            let mut pebble = spawn_pebble(&command, dir.path());
            match wait_until_listening(&mut pebble, acme_port) {
                Ok(()) => break (pebble, acme_port, mgmt_port),
                Err(why) if attempt < 3 && why.contains("address already in use") => {
                    eprintln!("pebble could not bind its ports (attempt {attempt}); new ports");
                }
                Err(why) => panic!("{why}:\n{}", read_log(dir.path())),
            }
        };
        Some(Self {
            pebble,
            command,
            acme_port,
            challtestsrv_proc,
            _dir: dir,
            directory: format!("https://127.0.0.1:{acme_port}/dir"),
            ca_bundle,
            challtestsrv: format!("http://127.0.0.1:{cts_port}"),
            dns: format!("127.0.0.1:{dns_port}"),
            management: format!("https://127.0.0.1:{mgmt_port}"),
        })
    }

    /// Pebble 2.10's management endpoint `POST /set-renewal-info/`: from now on its
    /// `renewalInfo` answers for `cert_pem`'s leaf with `response` verbatim (any text, even
    /// an inverted window or broken JSON).
    pub fn set_renewal_info(&self, cert_pem: &str, response: &str) {
        let ca = std::fs::read(&self.ca_bundle).unwrap();
        // Pebble refuses requests without a User-Agent.
        let client = reqwest::blocking::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
            .user_agent("certpilot-tests")
            .build()
            .unwrap();
        let body = serde_json::json!({ "certificate": cert_pem, "ariResponse": response });
        let rsp = client
            .post(format!("{}/set-renewal-info/", self.management))
            .body(body.to_string())
            .send()
            .expect("POST set-renewal-info");
        let status = rsp.status();
        assert!(
            status.is_success(),
            "set-renewal-info: {status} {}",
            rsp.text().unwrap_or_default()
        );
    }

    /// Pebble's log so far (for failure messages).
    pub fn log(&self) -> String {
        read_log(self._dir.path())
    }
}

fn read_log(dir: &std::path::Path) -> String {
    std::fs::read_to_string(dir.join("pebble.log")).unwrap_or_default()
}

/// Pebble's configuration file for these ports.
fn pebble_config(
    opts: &PebbleOptions,
    acme_port: u16,
    mgmt_port: u16,
    cert: &std::path::Path,
    key: &std::path::Path,
) -> serde_json::Value {
    let mut config = serde_json::json!({
        "pebble": {
            "listenAddress": format!("127.0.0.1:{acme_port}"),
            "managementListenAddress": format!("127.0.0.1:{mgmt_port}"),
            "certificate": cert,
            "privateKey": key,
            "httpPort": free_tcp_port(),
            "tlsPort": free_tcp_port(),
            "ocspResponderURL": "",
            "externalAccountBindingRequired": !opts.eab_keys.is_empty(),
            "externalAccountMACKeys": opts.eab_keys.iter().cloned().collect::<std::collections::BTreeMap<_, _>>(),
            "domainBlocklist": opts.blocklist,
        }
    });
    if !opts.profiles.is_empty() {
        let profiles: serde_json::Map<String, serde_json::Value> = opts
            .profiles
            .iter()
            .map(|(name, description, validity)| {
                let profile = serde_json::json!({
                    "description": description,
                    "validityPeriod": validity,
                });
                (name.clone(), profile)
            })
            .collect();
        config["pebble"]["profiles"] = profiles.into();
    }
    config
}

/// Wait for Pebble's ACME port. `Err` says why when Pebble exits first (its log then says
/// which port it could not bind) or never listens.
fn wait_until_listening(pebble: &mut Child, acme_port: u16) -> Result<(), String> {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while std::time::Instant::now() < deadline {
        if let Ok(Some(status)) = pebble.try_wait() {
            return Err(format!("pebble exited ({status}) before listening"));
        }
        if TcpStream::connect(("127.0.0.1", acme_port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!("pebble did not listen on {acme_port} within 20 s"))
}

fn spawn_pebble(
    command: &(PathBuf, Vec<String>, Vec<(String, String)>),
    dir: &std::path::Path,
) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("pebble.log"))
        .unwrap();
    Command::new(&command.0)
        .args(&command.1)
        .envs(command.2.iter().cloned())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("start pebble")
}

impl Pebble {
    /// Stop Pebble and start it again on the same ports with the same TLS certificate: a
    /// CA that forgot everything (accounts, orders, certificates) and has new issuing keys.
    pub fn restart(&mut self) {
        let _ = self.pebble.kill();
        let _ = self.pebble.wait();
        wait_for(
            "the old Pebble's port to close",
            Duration::from_secs(20),
            || TcpListener::bind(("127.0.0.1", self.acme_port)).is_ok(),
        );
        self.pebble = spawn_pebble(&self.command, self._dir.path());
        wait_tcp(self.acme_port, "restarted pebble ACME port");
    }
}

impl Drop for Pebble {
    fn drop(&mut self) {
        for child in [&mut self.pebble, &mut self.challtestsrv_proc] {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
