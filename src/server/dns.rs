//! The authoritative DNS side: one zone, static SOA/NS/A/AAAA from the config, and each
//! account's TXT values at `<subdomain>.<zone>`.
//!
//! Answers, as the reference server gives them: TXT at an account name with values → NOERROR,
//! AA, one record per non-empty slot, TTL 1; an account without values, another type at an
//! account name, or an unknown name in the zone → NXDOMAIN, AA, SOA; a static name without
//! the asked type → NOERROR, AA, SOA (NODATA); a name outside the zone → REFUSED; UPDATE and
//! other opcodes → NOTIMP. Names compare case-insensitively and answers keep the query's case.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use hickory_proto::op::{Edns, Header, LowerQuery, Message, MessageType, Metadata, OpCode};
use hickory_proto::op::{HeaderCounts, ResponseCode};
use hickory_proto::rr::rdata::TXT;
use hickory_proto::rr::{DNSClass, LowerName, RData, Record, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder, BinEncoder};
use hickory_server::net::runtime::Time;
use hickory_server::net::xfer::Protocol;
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::{MessageRequest, MessageResponseBuilder};

use super::config::ZoneData;
use super::store::Store;

/// The largest UDP answer offered to EDNS clients (the DNS flag day 2020 value).
const EDNS_PAYLOAD: u16 = 1232;

/// What to answer one request with.
#[derive(Debug)]
struct Answer {
    code: ResponseCode,
    authoritative: bool,
    answers: Vec<Record>,
    authorities: Vec<Record>,
}

impl Answer {
    fn code(code: ResponseCode) -> Self {
        Self {
            code,
            authoritative: false,
            answers: Vec::new(),
            authorities: Vec::new(),
        }
    }
}

/// The zone's answering logic, shared by the UDP and TCP listeners.
pub struct Authority {
    zone: ZoneData,
    /// Static records (SOA, NS, A, AAAA) by owner.
    names: HashMap<LowerName, Vec<Record>>,
    /// The SOA as sent in negative answers (RFC 2308 TTL).
    negative_soa: Record,
    store: Arc<Store>,
    /// The server's own DNS-01 challenges (its API certificate), by owner name.
    challenges: std::sync::RwLock<HashMap<LowerName, Vec<String>>>,
}

impl Authority {
    pub(crate) fn new(zone: ZoneData, store: Arc<Store>) -> Self {
        let mut names: HashMap<LowerName, Vec<Record>> = HashMap::new();
        for record in std::iter::once(&zone.soa).chain(&zone.records) {
            names
                .entry(LowerName::new(&record.name))
                .or_default()
                .push(record.clone());
        }
        let mut negative_soa = zone.soa.clone();
        negative_soa.ttl = zone.negative_ttl;
        Self {
            zone,
            names,
            negative_soa,
            store,
            challenges: std::sync::RwLock::default(),
        }
    }

    /// Serve these DNS-01 records (the server's own certificate order) until cleared.
    pub(crate) fn set_challenges(&self, records: &[crate::solver::ChallengeRecord]) {
        let mut map = self
            .challenges
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.clear();
        for record in records {
            if let Ok(name) = hickory_proto::rr::Name::from_ascii(&record.fqdn) {
                map.entry(LowerName::new(&name))
                    .or_default()
                    .push(record.value.clone());
            }
        }
    }

    /// Stop serving the server's own challenges.
    pub(crate) fn clear_challenges(&self) {
        self.challenges
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }

    fn challenge_values(&self, name: &LowerName) -> Option<Vec<String>> {
        self.challenges
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(name)
            .cloned()
    }

    async fn answer(&self, request: &MessageRequest) -> Answer {
        match (request.metadata.message_type, request.metadata.op_code) {
            (MessageType::Query, OpCode::Query) => match request.queries.queries() {
                [query] => self.answer_query(query).await,
                _ => Answer::code(ResponseCode::FormErr),
            },
            // Dynamic UPDATE and the rest: accounts change only through the HTTP API.
            _ => Answer::code(ResponseCode::NotImp),
        }
    }

    async fn answer_query(&self, query: &LowerQuery) -> Answer {
        let name = query.name();
        if query.query_class() != DNSClass::IN || !self.zone.lower_apex.zone_of(name) {
            return Answer::code(ResponseCode::Refused);
        }
        let qtype = query.query_type();
        let owner = query.original().name();
        let mut answer = Answer {
            code: ResponseCode::NoError,
            authoritative: true,
            answers: Vec::new(),
            authorities: Vec::new(),
        };
        let known = self.names.get(name);
        if let Some(values) = self.challenge_values(name) {
            if qtype == RecordType::TXT {
                answer.answers = txt_records(owner, values);
            } else {
                answer.authorities.push(self.negative_soa.clone());
            }
            return answer;
        }
        if let Some(records) = known {
            answer.answers = records
                .iter()
                .filter(|r| qtype == RecordType::ANY || r.record_type() == qtype)
                .map(|r| with_owner(r, owner))
                .collect();
        } else if let Some(subdomain) = self
            .account_label(name)
            .filter(|_| qtype == RecordType::TXT)
        {
            let values = match self.store.txt_values(&subdomain).await {
                Ok(values) => values,
                Err(error) => {
                    tracing::error!(%error, "TXT lookup failed");
                    return Answer::code(ResponseCode::ServFail);
                }
            };
            answer.answers = txt_records(owner, values);
        }
        if answer.answers.is_empty() {
            // An empty non-terminal (a name above a static record) exists: NODATA, not NXDOMAIN.
            let exists = known.is_some() || self.names.keys().any(|n| name.zone_of(n));
            if !exists {
                answer.code = ResponseCode::NXDomain;
            }
            answer.authorities.push(self.negative_soa.clone());
        }
        answer
    }

    /// The account label of `<label>.<zone>` (lowercase), for names exactly one level down.
    fn account_label(&self, name: &LowerName) -> Option<String> {
        if name.num_labels() != self.zone.lower_apex.num_labels() + 1 {
            return None;
        }
        let label = name.iter().next()?;
        std::str::from_utf8(label).ok().map(str::to_owned)
    }

    /// The response's OPT record (EDNS0 answered in kind), or `None` without EDNS.
    fn response_edns(request: &MessageRequest) -> Option<Edns> {
        let asked = request.edns.as_ref()?;
        let mut edns = Edns::new();
        edns.set_version(0);
        edns.set_max_payload(asked.max_payload().clamp(512, EDNS_PAYLOAD));
        Some(edns)
    }

    async fn answer_with_edns(&self, request: &MessageRequest) -> (Answer, Option<Edns>) {
        let edns = Self::response_edns(request);
        if request.edns.as_ref().is_some_and(|e| e.version() > 0) {
            return (Answer::code(ResponseCode::BADVERS), edns);
        }
        (self.answer(request).await, edns)
    }

    /// Answer one raw DNS message as the UDP listener does: `None` when no reply is due
    /// (shorter than a header, or a response), FORMERR when the body does not parse.
    /// The fuzz tests drive the handler through this; it does no I/O.
    pub async fn respond(&self, packet: &[u8]) -> Option<Vec<u8>> {
        self.respond_to(packet, SocketAddr::from(([127, 0, 0, 1], 0)), false)
            .await
    }

    /// Answer one raw DNS message from `src`; over TCP (`tcp`) the answer is not truncated to
    /// the UDP size. Used by the DNS/TCP listener.
    pub(crate) async fn respond_to(
        &self,
        packet: &[u8],
        src: SocketAddr,
        tcp: bool,
    ) -> Option<Vec<u8>> {
        let header = Header::read(&mut BinDecoder::new(packet)).ok()?;
        let protocol = if tcp { Protocol::Tcp } else { Protocol::Udp };
        let Ok(request) = Request::from_bytes(packet.to_vec(), src, protocol) else {
            let mut reply = Message::new(
                header.metadata.id,
                MessageType::Response,
                header.metadata.op_code,
            );
            reply.metadata = Metadata::response_from_request(&header.metadata);
            reply.metadata.response_code = ResponseCode::FormErr;
            return reply.to_vec().ok();
        };
        if request.metadata.message_type == MessageType::Response {
            return None;
        }
        let (answer, edns) = self.answer_with_edns(&request).await;
        let max = if tcp {
            u16::MAX
        } else {
            edns.as_ref().map_or(512, Edns::max_payload)
        };
        let response = build_response(&request, &answer, edns.as_ref());
        let mut bytes = Vec::with_capacity(512);
        let mut encoder = BinEncoder::new(&mut bytes);
        encoder.set_max_size(max);
        response.destructive_emit(&mut encoder).ok()?;
        Some(bytes)
    }
}

/// TXT records at `owner` with TTL 1, one per value.
fn txt_records(owner: &hickory_proto::rr::Name, values: Vec<String>) -> Vec<Record> {
    values
        .into_iter()
        .map(|value| Record::from_rdata(owner.clone(), 1, RData::TXT(TXT::new(vec![value]))))
        .collect()
}

/// `record` with the query's spelling of the owner (0x20-randomising resolvers compare it).
fn with_owner(record: &Record, owner: &hickory_proto::rr::Name) -> Record {
    let mut record = record.clone();
    record.name = owner.clone();
    record
}

fn build_response<'q, 'a>(
    request: &'q MessageRequest,
    answer: &'a Answer,
    edns: Option<&'q Edns>,
) -> hickory_server::zone_handler::MessageResponse<
    'q,
    'a,
    std::slice::Iter<'a, Record>,
    std::slice::Iter<'a, Record>,
    std::iter::Empty<&'a Record>,
    std::iter::Empty<&'a Record>,
> {
    let mut metadata = Metadata::response_from_request(&request.metadata);
    metadata.authoritative = answer.authoritative;
    metadata.response_code = answer.code;
    MessageResponseBuilder::new(&request.queries, edns).build(
        metadata,
        answer.answers.iter(),
        answer.authorities.iter(),
        std::iter::empty(),
        std::iter::empty(),
    )
}

/// hickory-server's request handler around an [`Authority`].
pub(crate) struct DnsHandler(pub Arc<Authority>);

// hickory-server declares the trait with `#[async_trait]`.
#[async_trait::async_trait]
impl RequestHandler for DnsHandler {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        mut response_handle: R,
    ) -> ResponseInfo {
        let (answer, edns) = self.0.answer_with_edns(request).await;
        let response = build_response(request, &answer, edns.as_ref());
        match response_handle.send_response(response).await {
            Ok(info) => info,
            Err(error) => {
                tracing::debug!(%error, "DNS response not sent");
                let mut metadata = Metadata::response_from_request(&request.metadata);
                metadata.response_code = ResponseCode::ServFail;
                ResponseInfo::from(Header {
                    metadata,
                    counts: HeaderCounts::default(),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::config::ServerConfig;

    async fn authority(dir: &std::path::Path) -> (Authority, Arc<Store>) {
        let config = ServerConfig::new("Auth.Example.Test", dir.join("db"));
        let store = Arc::new(Store::open(&config.database, None).await.expect("store"));
        let zone = config.zone_data().expect("zone");
        (Authority::new(zone, Arc::clone(&store)), store)
    }

    async fn ask(authority: &Authority, name: &str, qtype: RecordType) -> Message {
        let mut query = Message::query();
        let name = hickory_proto::rr::Name::from_ascii(name).expect("name");
        query.add_query(hickory_proto::op::Query::query(name, qtype));
        let reply = authority
            .respond(&query.to_vec().expect("encode"))
            .await
            .expect("reply");
        Message::from_vec(&reply).expect("decode")
    }

    #[tokio::test]
    async fn answers_by_name_and_type() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (authority, store) = authority(dir.path()).await;
        let account = crate::server::store::Account {
            username: "u".into(),
            password_hash: "h".into(),
            subdomain: "sub".into(),
            allowfrom: Vec::new(),
        };
        store.register(&account).await.expect("register");
        let authority = &authority;
        let code = |name: &'static str, qtype| async move {
            ask(authority, name, qtype).await.metadata.response_code
        };
        assert_eq!(
            code("sub.auth.example.test.", RecordType::TXT).await,
            ResponseCode::NXDomain
        );
        store.update_txt("sub", "v1").await.expect("update");
        let reply = ask(authority, "SUB.auth.example.test.", RecordType::TXT).await;
        assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
        assert!(reply.metadata.authoritative);
        assert_eq!(reply.answers[0].name.to_string(), "SUB.auth.example.test.");
        assert_eq!(
            code("sub.auth.example.test.", RecordType::A).await,
            ResponseCode::NXDomain
        );
        assert_eq!(
            code("auth.example.test.", RecordType::TXT).await,
            ResponseCode::NoError
        );
        assert_eq!(
            code("example.test.", RecordType::SOA).await,
            ResponseCode::Refused
        );
        let soa = ask(authority, "nothing.auth.example.test.", RecordType::TXT).await;
        assert_eq!(
            soa.authorities[0].ttl, 60,
            "negative TTL from the SOA minimum"
        );
    }

    #[tokio::test]
    async fn no_reply_to_responses_or_scraps() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (authority, _) = authority(dir.path()).await;
        assert!(authority.respond(&[0x12, 0x34, 0x81]).await.is_none());
        let mut response = Message::query();
        response.metadata.message_type = MessageType::Response;
        assert!(authority
            .respond(&response.to_vec().expect("encode"))
            .await
            .is_none());
    }
}
