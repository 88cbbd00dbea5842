//! The UPDATE messages: every TXT value of one zone in one message.
//!
//! Adding is prerequisite-free (RFC 2136 §2.5.1, "add to an RRset"), so values of other
//! orders or other tools at the same name stay; removal deletes exactly the RRs we added
//! (§2.5.4, class NONE), never the whole set.

use hickory_proto::op::{Message, OpCode, Query, UpdateMessage as _};
use hickory_proto::rr::rdata::TXT;
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};

/// TTL of the challenge records: short, so a retried order's values are not cached long.
pub const TTL: u32 = 60;

/// What an UPDATE does with its records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Add each value to its RRset.
    Add,
    /// Delete each exact value.
    Delete,
}

/// One TXT value at an owner name, both absolute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxtValue {
    /// `_acme-challenge.example.com.`
    pub owner: Name,
    /// The value.
    pub value: String,
}

/// The UPDATE message for `zone` doing `action` with every value (duplicates once).
#[must_use]
pub fn message(zone: &Name, action: Action, values: &[TxtValue]) -> Message {
    let mut message = Message::query();
    message.metadata.op_code = OpCode::Update;
    message.metadata.recursion_desired = false;
    let mut section = Query::new();
    section
        .set_name(zone.clone())
        .set_query_class(DNSClass::IN)
        .set_query_type(RecordType::SOA);
    message.add_zone(section);
    let mut seen: Vec<&TxtValue> = Vec::with_capacity(values.len());
    for value in values {
        if seen.contains(&value) {
            continue;
        }
        seen.push(value);
        let rdata = RData::TXT(TXT::new(vec![value.value.clone()]));
        let mut record = Record::from_rdata(value.owner.clone(), TTL, rdata);
        if action == Action::Delete {
            record.dns_class = DNSClass::NONE;
            record.ttl = 0;
        }
        message.add_update(record);
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::UpdateMessage;

    fn value(owner: &str, value: &str) -> TxtValue {
        TxtValue {
            owner: Name::from_ascii(owner).unwrap(),
            value: value.into(),
        }
    }

    #[test]
    fn one_message_per_zone_with_every_value_once() {
        let zone = Name::from_ascii("example.test.").unwrap();
        let values = [
            value("_acme-challenge.example.test.", "a"),
            value("_acme-challenge.example.test.", "b"),
            value("_acme-challenge.www.example.test.", "c"),
            value("_acme-challenge.example.test.", "a"),
        ];
        let add = message(&zone, Action::Add, &values);
        assert_eq!(add.metadata.op_code, OpCode::Update);
        assert_eq!(add.zones()[0].name(), &zone);
        assert_eq!(add.updates().len(), 3);
        assert!(add.prerequisites().is_empty());
        assert!(add
            .updates()
            .iter()
            .all(|r| r.dns_class == DNSClass::IN && r.ttl == TTL));
        let delete = message(&zone, Action::Delete, &values);
        assert!(delete
            .updates()
            .iter()
            .all(|r| r.dns_class == DNSClass::NONE && r.ttl == 0));
        // Round trip through the wire format.
        let bytes = add.to_vec().unwrap();
        assert_eq!(Message::from_vec(&bytes).unwrap().updates().len(), 3);
    }
}
