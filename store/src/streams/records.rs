//! Change records as stream records: event names, the images a view type shows, sizes,
//! and the service identity of TTL deletes (DYNAMODB.md §9).

use shared::model::size::item_size;
use shared::wire::ops::get_records::{Identity, Record, StreamRecordBody};

use super::{sequence_number, StreamInfo};
use crate::storage::{Cause, ChangeRecord};

/// `INSERT` (the item did not exist), `REMOVE` (it does not exist after) or `MODIFY`.
pub fn event_name(record: &ChangeRecord) -> &'static str {
    match (record.existed_before(), record.exists_after()) {
        (false, _) => "INSERT",
        (true, false) => "REMOVE",
        (true, true) => "MODIFY",
    }
}

/// Whether a stream of `view_type` shows old images (and so needs the log to keep them).
pub fn shows_old_images(view_type: &str) -> bool {
    matches!(view_type, "OLD_IMAGE" | "NEW_AND_OLD_IMAGES")
}

/// Whether a stream of `view_type` shows new images (and so needs the log to keep them).
pub fn shows_new_images(view_type: &str) -> bool {
    matches!(view_type, "NEW_IMAGE" | "NEW_AND_OLD_IMAGES")
}

/// A stable id for the record (the same on every read, so consumers can deduplicate):
/// 32 hex digits from the stream and the sequence number.
pub fn event_id(stream_arn: &str, seq: u64) -> String {
    format!(
        "{:016x}{seq:016x}",
        xxhash_rust::xxh3::xxh3_64(stream_arn.as_bytes())
    )
}

/// The stream record of `record` in `stream`'s view type.
pub fn stream_record(region: &str, stream: &StreamInfo, record: &ChangeRecord) -> Record {
    into_stream_record(region, stream, record.clone())
}

/// [`stream_record`] taking the change by value, so the images move into the record
/// instead of being copied (GetRecords pages hold up to 1 MB of them).
pub fn into_stream_record(region: &str, stream: &StreamInfo, record: ChangeRecord) -> Record {
    let view = stream.view_type.as_str();
    let new_shown = shows_new_images(view);
    let old_shown = shows_old_images(view);
    let event_name = event_name(&record).to_string();
    let ChangeRecord {
        seq,
        time_ms,
        keys,
        old_image,
        new_image,
        cause,
        ..
    } = record;
    let new_image = new_image.filter(|_| new_shown);
    let old_image = old_image.filter(|_| old_shown);
    let size = item_size(&keys)
        + new_image.as_ref().map_or(0, item_size)
        + old_image.as_ref().map_or(0, item_size);
    Record {
        event_id: event_id(&stream.arn, seq),
        event_name,
        event_version: "1.1".to_string(),
        event_source: "aws:dynamodb".to_string(),
        aws_region: region.to_string(),
        dynamodb: StreamRecordBody {
            approximate_creation_date_time: i64::try_from(time_ms / 1000).unwrap_or(i64::MAX),
            keys,
            new_image,
            old_image,
            sequence_number: sequence_number(seq),
            size_bytes: i64::try_from(size).unwrap_or(i64::MAX),
            stream_view_type: stream.view_type.clone(),
        },
        user_identity: (cause == Cause::Ttl).then(|| Identity {
            principal_id: "dynamodb.amazonaws.com".to_string(),
            r#type: "Service".to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::model::{AttributeValue, Item, KeyAttr, KeySchema, ScalarType};

    fn item(pairs: &[(&str, &str)]) -> Item {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), AttributeValue::S(v.to_string())))
            .collect()
    }

    fn stream(view: &str) -> StreamInfo {
        StreamInfo {
            arn: "arn:s".into(),
            label: "l".into(),
            table_name: "t".into(),
            table_id: 1,
            view_type: view.into(),
            key_schema: KeySchema::new(
                KeyAttr {
                    name: "pk".into(),
                    ty: ScalarType::S,
                },
                None,
            ),
            created: 0.0,
            start_seq: 0,
            end_seq: None,
            ended_ms: None,
            shards: Vec::new(),
        }
    }

    fn change(old: Option<Item>, new: Option<Item>, cause: Cause) -> ChangeRecord {
        ChangeRecord {
            seq: 7,
            time_ms: 1_700_000_000_999,
            table_id: 1,
            table_name: "t".into(),
            keys: item(&[("pk", "a")]),
            old_image: old,
            old_image_elided: false,
            new_image: new,
            new_image_elided: false,
            cause,
            origin: None,
        }
    }

    #[test]
    fn view_types_choose_images() {
        let old = item(&[("pk", "a"), ("v", "1")]);
        let new = item(&[("pk", "a"), ("v", "2")]);
        let modify = change(Some(old.clone()), Some(new.clone()), Cause::User);
        let r = stream_record("us-east-1", &stream("KEYS_ONLY"), &modify);
        assert_eq!((r.dynamodb.new_image, r.dynamodb.old_image), (None, None));
        assert_eq!(r.event_name, "MODIFY");
        let r = stream_record("us-east-1", &stream("NEW_IMAGE"), &modify);
        assert_eq!(
            (r.dynamodb.new_image, r.dynamodb.old_image),
            (Some(new.clone()), None)
        );
        let r = stream_record("us-east-1", &stream("OLD_IMAGE"), &modify);
        assert_eq!(
            (r.dynamodb.new_image, r.dynamodb.old_image),
            (None, Some(old.clone()))
        );
        let r = stream_record("us-east-1", &stream("NEW_AND_OLD_IMAGES"), &modify);
        assert!(r.dynamodb.new_image.is_some() && r.dynamodb.old_image.is_some());
        assert_eq!(r.dynamodb.approximate_creation_date_time, 1_700_000_000);
        assert_eq!(r.dynamodb.sequence_number, "100000000000000000007");
        assert!(r.user_identity.is_none());
        assert_eq!(r.event_id.len(), 32);
    }

    #[test]
    fn an_elided_old_image_still_names_a_modify_or_a_remove() {
        let new = item(&[("pk", "a"), ("v", "2")]);
        let elided = |new: Option<Item>| ChangeRecord {
            old_image_elided: true,
            ..change(None, new, Cause::User)
        };
        assert_eq!(event_name(&elided(Some(new))), "MODIFY");
        assert_eq!(event_name(&elided(None)), "REMOVE");
        assert_eq!(
            event_name(&change(None, Some(item(&[("pk", "a")])), Cause::User)),
            "INSERT"
        );
        assert!(shows_old_images("OLD_IMAGE") && shows_old_images("NEW_AND_OLD_IMAGES"));
        assert!(!shows_old_images("NEW_IMAGE") && !shows_old_images("KEYS_ONLY"));
        assert!(shows_new_images("NEW_IMAGE") && shows_new_images("NEW_AND_OLD_IMAGES"));
        assert!(!shows_new_images("OLD_IMAGE") && !shows_new_images("KEYS_ONLY"));
    }

    #[test]
    fn ttl_removes_carry_the_service_identity() {
        let old = item(&[("pk", "a")]);
        let r = stream_record(
            "eu-west-1",
            &stream("NEW_AND_OLD_IMAGES"),
            &change(Some(old), None, Cause::Ttl),
        );
        assert_eq!(r.event_name, "REMOVE");
        assert!(r.dynamodb.new_image.is_none());
        let json = serde_json::to_value(&r).unwrap_or_default();
        assert_eq!(
            json["userIdentity"],
            serde_json::json!({"PrincipalId": "dynamodb.amazonaws.com", "Type": "Service"})
        );
        assert_eq!(json["awsRegion"], "eu-west-1");
        assert_eq!(
            event_name(&change(None, Some(item(&[("pk", "a")])), Cause::User)),
            "INSERT"
        );
    }
}
