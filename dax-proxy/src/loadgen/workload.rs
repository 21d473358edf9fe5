//! The table's key space and the request bodies of each operation.
//!
//! Item `i` of `n` lives in partition `i / P` with sort key `i % P` (P = `--partition-size`,
//! default 10), so a Query reads one whole partition of P items, the store benchmark's
//! "Query (10 items)". Partition keys are `p` + 8 digits so they sort and print cleanly.
//! Each item carries one string attribute, `payload`, padded so the item's DynamoDB size is
//! about `--item-size` bytes.
//!
//! Bodies are written with `format!` rather than built as JSON trees: this is the hot path of
//! the client, and every value here is ASCII that needs no escaping (table names are checked
//! against DynamoDB's `[a-zA-Z0-9_.-]` rule before the run).

use bytes::Bytes;
use rand::Rng;

use super::mix::LoadOp;

/// The shape of the table and its items.
#[derive(Debug, Clone)]
pub struct KeySpace {
    pub table: String,
    pub items: u64,
    pub partition_size: u64,
    pub item_size: usize,
    /// The padding of every item, shared; writes change only a short prefix.
    payload: String,
}

/// DynamoDB's table name rule: 3-255 of `[a-zA-Z0-9_.-]`.
pub fn check_table_name(name: &str) -> Result<(), String> {
    if !(3..=255).contains(&name.len())
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
    {
        return Err(format!(
            "table name {name:?} must be 3-255 characters of a-z, A-Z, 0-9, _, -, ."
        ));
    }
    Ok(())
}

impl KeySpace {
    pub fn new(
        table: &str,
        items: u64,
        partition_size: u64,
        item_size: usize,
    ) -> Result<KeySpace, String> {
        check_table_name(table)?;
        if items == 0 {
            return Err("--items must be at least 1: there is no key to read or write".into());
        }
        if partition_size == 0 || partition_size > 1000 {
            return Err("--partition-size must be within 1..1000".into());
        }
        if item_size > 400 * 1024 - 64 {
            return Err(format!(
                "--item-size {item_size} exceeds DynamoDB's 400 KB item limit"
            ));
        }
        // Attribute names and key values count toward an item's size: "pk" + 9 bytes,
        // "sk" + a number of up to ~4 bytes, "payload".
        let overhead = 2 + 9 + 2 + 4 + 7;
        let payload = "x".repeat(item_size.saturating_sub(overhead).max(1));
        Ok(KeySpace {
            table: table.to_string(),
            items,
            partition_size,
            item_size,
            payload,
        })
    }

    pub fn partitions(&self) -> u64 {
        self.items.div_ceil(self.partition_size)
    }

    fn key_json(&self, i: u64) -> String {
        format!(
            r#"{{"pk":{{"S":"p{:08}"}},"sk":{{"N":"{}"}}}}"#,
            i / self.partition_size,
            i % self.partition_size
        )
    }

    /// A payload of the configured size whose first bytes vary, so writes change the item.
    fn payload<R: Rng>(&self, rng: &mut R) -> String {
        let stamp = format!("{:016x}", rng.random::<u64>());
        let keep = self.payload.len().saturating_sub(stamp.len());
        let mut out = String::with_capacity(self.payload.len().max(stamp.len()));
        out.push_str(&stamp);
        out.push_str(&self.payload[..keep]);
        out
    }

    /// A PutRequest item (also the PutItem `Item`).
    pub fn item_json<R: Rng>(&self, i: u64, rng: &mut R) -> String {
        format!(
            r#"{{"pk":{{"S":"p{:08}"}},"sk":{{"N":"{}"}},"payload":{{"S":"{}"}}}}"#,
            i / self.partition_size,
            i % self.partition_size,
            self.payload(rng)
        )
    }

    /// The body of one request. `key` is an item index for item operations and a partition
    /// index for Query; `extra_keys` are the other items of a BatchGetItem.
    pub fn body<R: Rng>(
        &self,
        op: LoadOp,
        key: u64,
        extra_keys: &[u64],
        consistent: bool,
        scan_limit: u32,
        rng: &mut R,
    ) -> Bytes {
        let t = &self.table;
        let body = match op {
            LoadOp::GetItem => format!(
                r#"{{"TableName":"{t}","Key":{},"ConsistentRead":{consistent}}}"#,
                self.key_json(key)
            ),
            LoadOp::BatchGetItem => {
                let mut keys = String::new();
                for (n, k) in std::iter::once(&key).chain(extra_keys).enumerate() {
                    if n > 0 {
                        keys.push(',');
                    }
                    keys.push_str(&self.key_json(*k));
                }
                format!(
                    r#"{{"RequestItems":{{"{t}":{{"Keys":[{keys}],"ConsistentRead":{consistent}}}}}}}"#
                )
            }
            LoadOp::Query => format!(
                r##"{{"TableName":"{t}","KeyConditionExpression":"#k = :p","ExpressionAttributeNames":{{"#k":"pk"}},"ExpressionAttributeValues":{{":p":{{"S":"p{key:08}"}}}},"ConsistentRead":{consistent}}}"##
            ),
            LoadOp::Scan => format!(
                r#"{{"TableName":"{t}","Limit":{scan_limit},"ExclusiveStartKey":{},"ConsistentRead":{consistent}}}"#,
                self.key_json(key)
            ),
            LoadOp::PutItem => format!(
                r#"{{"TableName":"{t}","Item":{}}}"#,
                self.item_json(key, rng)
            ),
            LoadOp::UpdateItem => format!(
                r##"{{"TableName":"{t}","Key":{},"UpdateExpression":"SET #p = :v","ExpressionAttributeNames":{{"#p":"payload"}},"ExpressionAttributeValues":{{":v":{{"S":"{}"}}}}}}"##,
                self.key_json(key),
                self.payload(rng)
            ),
            LoadOp::DeleteItem => format!(r#"{{"TableName":"{t}","Key":{}}}"#, self.key_json(key)),
        };
        Bytes::from(body)
    }

    /// A BatchWriteItem body putting items `from..to` (at most 25).
    pub fn preload_body<R: Rng>(&self, from: u64, to: u64, rng: &mut R) -> Bytes {
        let mut puts = String::new();
        for i in from..to {
            if i > from {
                puts.push(',');
            }
            puts.push_str(r#"{"PutRequest":{"Item":"#);
            puts.push_str(&self.item_json(i, rng));
            puts.push_str("}}");
        }
        Bytes::from(format!(
            r#"{{"RequestItems":{{"{}":[{puts}]}}}}"#,
            self.table
        ))
    }

    /// CreateTable: pk S (hash) + sk N (range), on demand.
    pub fn create_table_body(&self) -> Bytes {
        Bytes::from(format!(
            r#"{{"TableName":"{}","AttributeDefinitions":[{{"AttributeName":"pk","AttributeType":"S"}},{{"AttributeName":"sk","AttributeType":"N"}}],"KeySchema":[{{"AttributeName":"pk","KeyType":"HASH"}},{{"AttributeName":"sk","KeyType":"RANGE"}}],"BillingMode":"PAY_PER_REQUEST"}}"#,
            self.table
        ))
    }

    pub fn describe_table_body(&self) -> Bytes {
        Bytes::from(format!(r#"{{"TableName":"{}"}}"#, self.table))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use serde_json::Value;

    fn space() -> KeySpace {
        KeySpace::new("loadgen", 95, 10, 1024).unwrap()
    }

    fn parse(b: &Bytes) -> Value {
        serde_json::from_slice(b).unwrap()
    }

    #[test]
    fn bodies_are_valid_json_of_the_right_shape() {
        let ks = space();
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let get = parse(&ks.body(LoadOp::GetItem, 42, &[], true, 10, &mut rng));
        assert_eq!(get["Key"]["pk"]["S"], "p00000004");
        assert_eq!(get["Key"]["sk"]["N"], "2");
        assert_eq!(get["ConsistentRead"], true);
        let batch = parse(&ks.body(LoadOp::BatchGetItem, 1, &[2, 3], false, 10, &mut rng));
        assert_eq!(
            batch["RequestItems"]["loadgen"]["Keys"]
                .as_array()
                .unwrap()
                .len(),
            3
        );
        let query = parse(&ks.body(LoadOp::Query, 9, &[], false, 10, &mut rng));
        assert_eq!(query["ExpressionAttributeValues"][":p"]["S"], "p00000009");
        let put = parse(&ks.body(LoadOp::PutItem, 5, &[], false, 10, &mut rng));
        let payload = put["Item"]["payload"]["S"].as_str().unwrap();
        // About the requested size, counting names and key values.
        assert!(
            (990..=1024).contains(&(payload.len() + 24)),
            "{}",
            payload.len()
        );
        for op in [LoadOp::Scan, LoadOp::UpdateItem, LoadOp::DeleteItem] {
            let v = parse(&ks.body(op, 5, &[], false, 10, &mut rng));
            assert_eq!(v["TableName"], "loadgen");
        }
        let pre = parse(&ks.preload_body(0, 25, &mut rng));
        assert_eq!(pre["RequestItems"]["loadgen"].as_array().unwrap().len(), 25);
        parse(&ks.create_table_body());
    }

    #[test]
    fn partitions_round_up() {
        assert_eq!(space().partitions(), 10);
        assert_eq!(KeySpace::new("abc", 100, 10, 10).unwrap().partitions(), 10);
    }

    #[test]
    fn rejects_impossible_key_spaces() {
        assert!(KeySpace::new("loadgen", 0, 10, 100).is_err());
        assert!(KeySpace::new("loadgen", 10, 0, 100).is_err());
        assert!(KeySpace::new("loadgen", 10, 10, 500_000).is_err());
        assert!(KeySpace::new("a\"b", 10, 10, 100).is_err());
        assert!(KeySpace::new("ab", 10, 10, 100).is_err());
    }
}
