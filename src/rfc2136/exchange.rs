//! One signed UPDATE over TCP: sign, send, read the answer, check its TSIG, decode errors
//! into what to change.
//!
//! TCP only: an UPDATE for a 100-name certificate is far larger than a UDP datagram, and
//! primaries accept updates over TCP.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::rdata::tsig::{TsigError, TSIG};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{Rfc2136Error, TsigKey};

/// Where one UPDATE goes and what it is about (for the error messages).
#[derive(Debug, Clone)]
pub struct Target<'a> {
    /// The primary server.
    pub server: SocketAddr,
    /// The zone, without the trailing dot.
    pub zone: &'a str,
    /// The key.
    pub key: &'a TsigKey,
    /// Limit for the whole exchange.
    pub timeout: Duration,
}

/// Sign `message` with the target's key, send it and check the answer.
///
/// # Errors
/// Timeouts, transport failures, an answer whose TSIG does not verify, and every RCODE but
/// NOERROR (with a hint).
pub async fn send(target: &Target<'_>, mut message: Message) -> Result<(), Rfc2136Error> {
    let transport = |detail: String| Rfc2136Error::Transport {
        server: target.server,
        zone: target.zone.to_owned(),
        detail,
    };
    let verifier = message
        .finalize(target.key.signer(), unix_now())
        .map_err(|e| transport(format!("signing: {e}")))?;
    let request = message
        .to_vec()
        .map_err(|e| transport(format!("encoding: {e}")))?;
    let answer = tokio::time::timeout(target.timeout, tcp_exchange(target.server, &request))
        .await
        .map_err(|_| Rfc2136Error::Timeout {
            server: target.server,
            zone: target.zone.to_owned(),
            waited: target.timeout,
        })?
        .map_err(|e| transport(e.to_string()))?;
    let response =
        Message::from_vec(&answer).map_err(|e| transport(format!("undecodable answer: {e}")))?;
    if response.metadata.id != message.metadata.id {
        return Err(transport(
            "the answer's id does not match the request".into(),
        ));
    }
    if let Some(code) = tsig_error(&response) {
        return Err(rejected(target, &response, Some(code)));
    }
    let code = response.metadata.response_code;
    let verified = match (response.signature(), verifier) {
        (Some(_), Some(mut verifier)) => verifier
            .verify(&answer)
            .map(|_| ())
            .map_err(|e| e.to_string()),
        _ => Err("the answer is not signed".to_owned()),
    };
    match (verified, code) {
        (Ok(()), ResponseCode::NoError) => Ok(()),
        // A server that rejects before looking at the key (NOTAUTH for a zone it does not
        // serve) may answer unsigned; the rcode is still the best explanation we have.
        (_, code) if code != ResponseCode::NoError => Err(rejected(target, &response, None)),
        (Ok(()), _) => Err(rejected(target, &response, None)),
        (Err(detail), _) => Err(Rfc2136Error::Unverified {
            server: target.server,
            zone: target.zone.to_owned(),
            detail,
        }),
    }
}

async fn tcp_exchange(server: SocketAddr, request: &[u8]) -> std::io::Result<Vec<u8>> {
    let len = u16::try_from(request.len()).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the UPDATE is larger than 65535 bytes",
        )
    })?;
    let mut stream = TcpStream::connect(server).await?;
    let mut framed = Vec::with_capacity(request.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(request);
    stream.write_all(&framed).await?;
    let answer_len = stream.read_u16().await?;
    let mut answer = vec![0_u8; usize::from(answer_len)];
    stream.read_exact(&mut answer).await?;
    Ok(answer)
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The TSIG error of the answer's signature, if it has one.
fn tsig_error(response: &Message) -> Option<TsigError> {
    response.signature().and_then(|sig| sig.data.error)
}

/// The server's clock minus ours, from a BADTIME answer (RFC 8945 §5.2.3: the server's time
/// is in Other Data; Time Signed echoes ours).
fn clock_offset(tsig: &TSIG) -> i64 {
    let server = match tsig.other.as_slice() {
        // 48-bit big-endian seconds.
        &[b0, b1, b2, b3, b4, b5] => u64::from_be_bytes([0, 0, b0, b1, b2, b3, b4, b5]),
        _ => tsig.time,
    };
    i64::try_from(server).unwrap_or(i64::MAX) - i64::try_from(unix_now()).unwrap_or(0)
}

fn rejected(target: &Target<'_>, response: &Message, tsig: Option<TsigError>) -> Rfc2136Error {
    let rcode = response.metadata.response_code;
    let code = match &tsig {
        Some(e) => format!("{}/{}", rcode_name(rcode), tsig_name(*e)),
        None => rcode_name(rcode),
    };
    let hint = match tsig {
        Some(TsigError::BadTime) => {
            let offset = response.signature().map_or(0, |s| clock_offset(&s.data));
            badtime_hint(offset)
        }
        Some(e) => tsig_hint(e, target.key),
        None => rcode_hint(rcode, target),
    };
    Rfc2136Error::Rejected {
        server: target.server,
        zone: target.zone.to_owned(),
        code,
        hint,
    }
}

fn rcode_name(rcode: ResponseCode) -> String {
    crate::dns::probe::rcode_name(rcode)
}

fn tsig_name(e: TsigError) -> String {
    match e {
        TsigError::BadSig => "BADSIG".into(),
        TsigError::BadKey => "BADKEY".into(),
        TsigError::BadTime => "BADTIME".into(),
        TsigError::BadTrunc => "BADTRUNC".into(),
        TsigError::Unknown(code) => format!("TSIG error {code}"),
    }
}

fn tsig_hint(e: TsigError, key: &TsigKey) -> String {
    match e {
        TsigError::BadSig => format!(
            "The server knows the key {} but the signature does not match: the TSIG secret \
             differs from the server's. Store the right one with `certpilot domain set ... \
             --solver rfc2136 --tsig-secret-file FILE`",
            key.name
        ),
        TsigError::BadKey => format!(
            "The server has no key {} with algorithm {}: check --tsig-name and \
             --tsig-algorithm against the server's key definition",
            key.name, key.algorithm
        ),
        _ => "The server rejected the TSIG signature".into(),
    }
}

fn badtime_hint(offset: i64) -> String {
    let (who, by) = if offset >= 0 {
        ("ahead of", offset)
    } else {
        ("behind", -offset)
    };
    format!(
        "The clocks differ too much: the server's clock is {by}s {who} this machine's (TSIG \
         allows 300s). Fix the time (NTP) on this machine or on the server"
    )
}

fn rcode_hint(rcode: ResponseCode, target: &Target<'_>) -> String {
    let zone = target.zone;
    match rcode {
        ResponseCode::NotAuth => format!(
            "{} is not the primary of zone {zone}, or does not accept the key {}: point \
             --server at the zone's primary, check --zone, and check the key's name",
            target.server, target.key.name
        ),
        ResponseCode::Refused => format!(
            "The update policy does not allow key {} to change these TXT records in {zone}: \
             grant it (BIND update-policy, Knot acl with action: update, PowerDNS \
             TSIG-ALLOW-DNSUPDATE)",
            target.key.name
        ),
        ResponseCode::NotZone => format!(
            "A record is outside zone {zone}: the configured --zone is wrong; remove it to \
             update the zone each record lives in"
        ),
        ResponseCode::ServFail => {
            "The server could not apply the update: see its log (zone not loaded, journal or \
             zone file not writable)"
                .into()
        }
        ResponseCode::NotImp | ResponseCode::FormErr => format!(
            "{} does not accept dynamic updates for {zone}: enable them (allow-update / \
             update-policy, Knot acl)",
            target.server
        ),
        _ => "Unexpected answer to an UPDATE".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rfc2136::Algorithm;

    fn key() -> TsigKey {
        TsigKey::new("k", Algorithm::HmacSha256, "c2VjcmV0LXNlY3JldC1zZWNyZXQ=").unwrap()
    }

    #[test]
    fn every_rcode_gets_its_hint() {
        let key = key();
        let target = Target {
            server: "192.0.2.1:53".parse().unwrap(),
            zone: "example.com",
            key: &key,
            timeout: Duration::from_secs(1),
        };
        let cases = [
            (ResponseCode::NotAuth, "not the primary of zone example.com"),
            (ResponseCode::Refused, "update policy does not allow key k"),
            (ResponseCode::NotZone, "the configured --zone is wrong"),
            (ResponseCode::ServFail, "see its log"),
            (ResponseCode::NotImp, "does not accept dynamic updates"),
        ];
        for (rcode, want) in cases {
            let mut response = Message::query();
            response.metadata.response_code = rcode;
            let e = rejected(&target, &response, None);
            assert!(e.to_string().contains(want), "{rcode:?}: {e}");
            assert!(e.to_string().contains(&rcode_name(rcode)), "{e}");
        }
        let response = Message::query();
        let badkey = rejected(&target, &response, Some(TsigError::BadKey)).to_string();
        assert!(
            badkey.contains("/BADKEY") && badkey.contains("no key k with algorithm hmac-sha256"),
            "{badkey}"
        );
        let badsig = rejected(&target, &response, Some(TsigError::BadSig)).to_string();
        assert!(
            badsig.contains("/BADSIG") && badsig.contains("secret differs"),
            "{badsig}"
        );
    }

    /// A TCP DNS server on loopback answering one request with `answer(request)`.
    async fn one_answer_server(
        answer: impl FnOnce(&Message) -> Message + Send + 'static,
    ) -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let len = stream.read_u16().await.unwrap();
            let mut request = vec![0_u8; usize::from(len)];
            stream.read_exact(&mut request).await.unwrap();
            let reply = answer(&Message::from_vec(&request).unwrap())
                .to_vec()
                .unwrap();
            let len = u16::try_from(reply.len()).unwrap().to_be_bytes();
            stream
                .write_all(&[&len[..], &reply].concat())
                .await
                .unwrap();
        });
        server
    }

    fn example_update() -> Message {
        crate::rfc2136::update::message(
            &hickory_proto::rr::Name::from_ascii("example.com.").unwrap(),
            crate::rfc2136::update::Action::Add,
            &[],
        )
    }

    #[tokio::test]
    async fn badtime_over_tcp_names_the_clock_offset() {
        // The server's clock is 1000 s ahead: BADTIME with its time in Other Data.
        let server = one_answer_server(|request| {
            let sig = request.signature().expect("the request is signed");
            let server_time = (unix_now() + 1000).to_be_bytes();
            let tsig = TSIG::new(
                sig.data.algorithm.clone(),
                sig.data.time,
                300,
                Vec::new(),
                request.metadata.id,
                Some(TsigError::BadTime),
                server_time[2..].to_vec(),
            );
            let mut answer = Message::response(request.metadata.id, request.metadata.op_code);
            answer.metadata.response_code = ResponseCode::NotAuth;
            answer.set_signature(Box::new(hickory_proto::rr::rdata::tsig::make_tsig_record(
                sig.name.clone(),
                tsig,
            )));
            answer
        })
        .await;
        let key = key();
        let target = Target {
            server,
            zone: "example.com",
            key: &key,
            timeout: Duration::from_secs(5),
        };
        let e = send(&target, example_update())
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("failed: NOTAUTH/BADTIME"), "{e}");
        assert!(
            e.contains("1000s ahead of this machine's")
                || e.contains("999s ahead of this machine's"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn an_unsigned_success_is_not_trusted() {
        let server = one_answer_server(|request| {
            Message::response(request.metadata.id, request.metadata.op_code)
        })
        .await;
        let key = key();
        let target = Target {
            server,
            zone: "example.com",
            key: &key,
            timeout: Duration::from_secs(5),
        };
        let e = send(&target, example_update()).await.unwrap_err();
        assert!(matches!(e, Rfc2136Error::Unverified { .. }), "{e}");
        assert!(e.to_string().contains("not signed"), "{e}");
    }

    #[tokio::test]
    async fn a_server_that_never_answers_times_out_with_the_hint() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = listener.local_addr().unwrap();
        // Accept and hold the connection without answering.
        let holder = tokio::spawn(async move {
            let held = listener.accept().await;
            tokio::time::sleep(Duration::from_secs(5)).await;
            drop(held);
        });
        let key = key();
        let target = Target {
            server,
            zone: "example.com",
            key: &key,
            timeout: Duration::from_millis(300),
        };
        let e = send(&target, example_update()).await.unwrap_err();
        assert!(matches!(e, Rfc2136Error::Timeout { .. }), "{e}");
        assert!(e.to_string().contains("is 127.0.0.1"), "{e}");
        holder.abort();
    }

    #[test]
    fn clock_offset_uses_the_servers_time_in_other_data() {
        let now = unix_now();
        let server = now + 1000;
        let bytes = server.to_be_bytes();
        let mut tsig = TSIG::new(
            hickory_proto::rr::rdata::tsig::TsigAlgorithm::HmacSha256,
            now,
            300,
            Vec::new(),
            1,
            Some(TsigError::BadTime),
            bytes[2..].to_vec(),
        );
        let offset = clock_offset(&tsig);
        assert!((999..=1001).contains(&offset), "{offset}");
        tsig.other.clear();
        tsig.time = now - 700;
        let offset = clock_offset(&tsig);
        assert!((-701..=-699).contains(&offset), "{offset}");
        assert!(badtime_hint(-700).contains("700s behind"));
        assert!(badtime_hint(1000).contains("1000s ahead of"));
    }
}
