//! The sandbox's world on loopback: the zone `sandbox.test` on two knot servers (`ns1`
//! also serves the parent `test.`), `acme.sandbox.test` delegated to certpilot's own acme-dns
//! server, a caching unbound as the CA's resolver and Pebble validating through it. Every
//! server listens on high ports of its own `127.77.N.x` addresses, so no root is needed.
//!
//! ```text
//!   Pebble ──▶ unbound .3 ──stub──▶ ns1 .1 (test., sandbox.test)   ns2 .2 (sandbox.test)
//!                            └────▶ acme-dns .4 (acme.sandbox.test, API on .4)
//!   certpilot (--dir <sandbox>/work, authoritative_port = P) asks .1/.2/.4 directly
//! ```

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::procs::{self, Guard, ZoneText};
use super::SandboxError;

/// The sandbox's zone.
pub const ZONE: &str = "sandbox.test";
/// The acme-dns server's zone.
pub const ACME_ZONE: &str = "acme.sandbox.test";
/// TTL the sandbox's hook gives challenge records (short: the cache horizon stays visible
/// but brief).
pub const TXT_TTL: u32 = 5;

/// Where everything listens, and what faults can act on: written to `sandbox.json` in the
/// sandbox directory so that the dashboard (a separate process) can switch faults.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Layout {
    /// The sandbox directory.
    pub root: PathBuf,
    /// `127.77.N`: the sandbox's addresses are `.1` to `.4`.
    pub net: u8,
    /// The port every authoritative server (and the acme-dns server's DNS) listens on.
    pub port: u16,
    /// The recursive resolver's port (on `.3`).
    pub resolver_port: u16,
    /// The acme-dns API port (on `.4`).
    pub api_port: u16,
    /// Pebble's ACME port (on 127.0.0.1).
    pub acme_port: u16,
    /// Process ids: ns1, ns2 (SIGSTOP makes a server silent).
    pub ns_pids: Vec<u32>,
    /// The sandbox process, which owns Pebble: SIGUSR1 asks it to restart Pebble with the
    /// nonce rejection in `faults/nonce-reject`.
    #[serde(default)]
    pub owner: u32,
}

impl Layout {
    /// `127.77.N.host`.
    #[must_use]
    pub fn ip(&self, host: u8) -> Ipv4Addr {
        Ipv4Addr::new(127, 77, self.net, host)
    }

    /// An authoritative server's address.
    #[must_use]
    pub fn ns(&self, host: u8) -> SocketAddr {
        SocketAddr::from((self.ip(host), self.port))
    }

    /// The resolver certpilot and Pebble use.
    #[must_use]
    pub fn resolver(&self) -> SocketAddr {
        SocketAddr::from((self.ip(3), self.resolver_port))
    }

    /// The acme-dns API.
    #[must_use]
    pub fn api_url(&self) -> String {
        format!("http://{}:{}", self.ip(4), self.api_port)
    }

    /// Pebble's directory.
    #[must_use]
    pub fn directory(&self) -> String {
        format!("https://127.0.0.1:{}/dir", self.acme_port)
    }

    /// A knot server's configuration (`knotc -c`): 1 or 2.
    #[must_use]
    pub fn knot_conf(&self, ns: u8) -> PathBuf {
        self.root.join(format!("ns{ns}/knot.conf"))
    }

    /// The working directory certpilot runs in.
    #[must_use]
    pub fn work(&self) -> PathBuf {
        self.root.join("work")
    }

    /// The PEM that signed Pebble's HTTPS certificate.
    #[must_use]
    pub fn ca_bundle(&self) -> PathBuf {
        self.root.join("pebble/ca.pem")
    }

    /// Where faults are switched (files the hook reads).
    #[must_use]
    pub fn faults(&self) -> PathBuf {
        self.root.join("faults")
    }

    /// Read it back from a sandbox directory.
    ///
    /// # Errors
    /// The file is missing or unreadable: not a sandbox.
    pub fn load(root: &Path) -> Result<Self, SandboxError> {
        let path = root.join("sandbox.json");
        let text = std::fs::read_to_string(&path).map_err(|e| SandboxError::io(&path, &e))?;
        serde_json::from_str(&text)
            .map_err(|e| SandboxError::Start(format!("{}: {e}", path.display())))
    }
}

/// The running servers (stopped on drop, in reverse order of start).
pub struct World {
    /// Addresses and ports.
    pub layout: Layout,
    guards: Vec<Guard>,
}

fn soa(origin: &str, body: &str) -> ZoneText {
    ZoneText {
        origin: origin.to_owned(),
        text: format!(
            "$ORIGIN {origin}.\n$TTL 60\n@ SOA ns1.{ZONE}. hostmaster.{ZONE}. 1 60 60 600 10\n{body}"
        ),
    }
}

fn zones(layout: &Layout) -> (ZoneText, ZoneText) {
    let (ns1, ns2, acme) = (layout.ip(1), layout.ip(2), layout.ip(4));
    let parent = soa(
        "test",
        &format!("@ NS ns1.{ZONE}.\nsandbox NS ns1.sandbox\nsandbox NS ns2.sandbox\nns1.sandbox A {ns1}\nns2.sandbox A {ns2}\n"),
    );
    let child = soa(
        ZONE,
        &format!("@ NS ns1\n@ NS ns2\nns1 A {ns1}\nns2 A {ns2}\n@ A {ns1}\nwww A {ns1}\nacme NS ns.acme\nns.acme A {acme}\n"),
    );
    (parent, child)
}

impl World {
    /// Start every server under `root` on `127.77.net.x`.
    ///
    /// # Errors
    /// A tool is missing, or a server does not come up (its log's tail is in the message).
    pub fn start(root: &Path, net: u8, nonce_reject: u8) -> Result<Self, SandboxError> {
        let ips: Vec<Ipv4Addr> = (1..=4).map(|h| Ipv4Addr::new(127, 77, net, h)).collect();
        let port =
            procs::free_port(&ips).ok_or_else(|| SandboxError::Start("no free port".into()))?;
        let resolver_port = procs::free_port(&ips[2..3]).unwrap_or(port + 1);
        let api_port = procs::free_port(&ips[3..4]).unwrap_or(port + 2);
        let acme_port = procs::free_port(&[Ipv4Addr::LOCALHOST]).unwrap_or(port + 3);
        let mut layout = Layout {
            root: root.to_owned(),
            net,
            port,
            resolver_port,
            api_port,
            acme_port,
            ns_pids: Vec::new(),
            owner: std::process::id(),
        };
        let mut guards = Vec::new();
        let (parent, child) = zones(&layout);
        let child2 = ZoneText {
            origin: child.origin.clone(),
            text: child.text.clone(),
        };
        guards.push(procs::knot(
            &root.join("ns1"),
            layout.ns(1),
            &[parent, child],
        )?);
        guards.push(procs::knot(&root.join("ns2"), layout.ns(2), &[child2])?);
        layout.ns_pids = guards.iter().map(Guard::pid).collect();
        guards.push(start_acme_dns(&layout)?);
        let stubs = [
            ("test", vec![layout.ns(1)]),
            (ZONE, vec![layout.ns(1), layout.ns(2)]),
            (ACME_ZONE, vec![layout.ns(4)]),
        ];
        guards.push(procs::unbound(
            &root.join("unbound"),
            layout.resolver(),
            &stubs,
        )?);
        guards.push(start_pebble(&layout, nonce_reject)?);
        if nonce_reject > 0 {
            super::faults::mark_nonce_reject(&layout, nonce_reject)?;
        }
        let path = root.join("sandbox.json");
        let text =
            serde_json::to_vec_pretty(&layout).map_err(|e| SandboxError::Start(e.to_string()))?;
        crate::fsutil::write_atomic(&path, &text, crate::fsutil::Mode::Private)
            .map_err(|e| SandboxError::io(&path, &e))?;
        Ok(Self { layout, guards })
    }

    /// Every server process id, for the report and the tests.
    #[must_use]
    pub fn pids(&self) -> Vec<u32> {
        self.guards.iter().map(Guard::pid).collect()
    }
}

impl World {
    /// Start Pebble again, rejecting `nonce_reject` % of good nonces. Pebble keeps its
    /// accounts in memory, so the caller registers the sandbox's account again.
    ///
    /// # Errors
    /// Pebble does not come up.
    pub fn restart_pebble(&mut self, nonce_reject: u8) -> Result<(), SandboxError> {
        // Dropping the guard kills and reaps the old Pebble, which frees its port.
        self.guards.retain(|g| g.what != "pebble");
        self.guards.push(start_pebble(&self.layout, nonce_reject)?);
        Ok(())
    }

    /// Stop every server (the last started first) and the late updates still pending.
    pub fn stop(&mut self) {
        super::faults::stop_pending(&self.layout);
        while let Some(guard) = self.guards.pop() {
            drop(guard);
        }
    }
}

impl Drop for World {
    fn drop(&mut self) {
        self.stop();
    }
}

fn start_acme_dns(layout: &Layout) -> Result<Guard, SandboxError> {
    let dir = layout.root.join("acme-dns");
    std::fs::create_dir_all(&dir).map_err(|e| SandboxError::io(&dir, &e))?;
    let config = dir.join("server.toml");
    let ns = layout.ip(4);
    let text = format!(
        "zone = \"{ACME_ZONE}\"\ndatabase = \"acme-dns.db\"\nnameservers = [\"ns.{ACME_ZONE}\"]\nbcrypt_cost = 4\n\n[dns]\nlisten = [\"{ns}:{}\"]\n\n[http]\nlisten = \"{ns}:{}\"\n\n[soa]\nmname = \"ns.{ACME_ZONE}\"\nrname = \"hostmaster.{ZONE}\"\nminimum = 10\nttl = 60\n\n[[records]]\nname = \"ns.{ACME_ZONE}\"\ntype = \"A\"\nvalue = \"{ns}\"\n",
        layout.port, layout.api_port
    );
    std::fs::write(&config, text).map_err(|e| SandboxError::io(&config, &e))?;
    procs::acme_dns(
        &dir,
        &config,
        SocketAddr::from((ns, layout.api_port)),
        layout.ns(4),
        ACME_ZONE,
    )
}

fn start_pebble(layout: &Layout, nonce_reject: u8) -> Result<Guard, SandboxError> {
    let dir = layout.root.join("pebble");
    std::fs::create_dir_all(&dir).map_err(|e| SandboxError::io(&dir, &e))?;
    let (cert, key) = super::tls::pebble_material(&dir)?;
    let spare = procs::free_port(&[Ipv4Addr::LOCALHOST]).unwrap_or(0);
    let config = serde_json::json!({
        "pebble": {
            "listenAddress": format!("127.0.0.1:{}", layout.acme_port),
            "managementListenAddress": format!("127.0.0.1:{}", procs::free_port(&[Ipv4Addr::LOCALHOST]).unwrap_or(0)),
            "certificate": cert,
            "privateKey": key,
            "httpPort": spare,
            "tlsPort": spare,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": false
        }
    });
    let path = dir.join("pebble.json");
    std::fs::write(&path, config.to_string()).map_err(|e| SandboxError::io(&path, &e))?;
    procs::pebble(
        &dir,
        &path,
        layout.resolver(),
        nonce_reject,
        SocketAddr::from((Ipv4Addr::LOCALHOST, layout.acme_port)),
    )
}
