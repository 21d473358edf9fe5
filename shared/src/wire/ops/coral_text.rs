//! serde's data errors in the words of DynamoDB's front end (the Java coral serializer,
//! as dynalite captured them), so a SerializationException never shows Rust type names:
//! `invalid type: floating point `1.5`, expected i64` becomes `class java.lang.Double can
//! not be converted to an Long`, `invalid type: map, expected a string` becomes `Start of
//! structure or map found where not expected.`.
//!
//! Only serde's own texts are rewritten; the custom errors of our visitors already carry
//! DynamoDB's text and pass through as they are.

/// DynamoDB's message for serde's data-error `text` (its position already cut off), or
/// `None` when `text` is not one of serde's own.
pub fn coral_message(text: &str) -> Option<String> {
    if let Some(field) = text.strip_prefix("duplicate field `") {
        return Some(format!("Duplicate field '{}'", field.trim_end_matches('`')));
    }
    // A structure given as a JSON array: serde tries it as a tuple of its fields.
    if text.starts_with("invalid length ") {
        return Some(LIST.to_string());
    }
    // A value of the right JSON type out of the member's range (a negative count).
    if let Some(rest) = text.strip_prefix("invalid value: ") {
        let (found, expected) = rest.split_once(", expected ")?;
        let value = found.split_once(' ').map_or(found, |(_, v)| v);
        return Some(match Expected::of(expected) {
            Expected::Scalar(target) => format!(
                "{} can not be converted to an {target}",
                value.trim_matches('`')
            ),
            _ => "Unexpected value".to_string(),
        });
    }
    let rest = text.strip_prefix("invalid type: ")?;
    let (found, expected) = rest.split_once(", expected ")?;
    let found = match found {
        "map" => return Some(MAP.to_string()),
        "sequence" => return Some(LIST.to_string()),
        scalar => java_class(scalar),
    };
    let message = match Expected::of(expected) {
        Expected::Structure => "Expected null".to_string(),
        Expected::Map => "Expected map or null".to_string(),
        Expected::List => "Expected list or null".to_string(),
        Expected::Scalar(target) => match found {
            Some(class) => format!("class {class} can not be converted to an {target}"),
            None => format!("Unexpected value for {target}"),
        },
    };
    Some(message)
}

const MAP: &str = "Start of structure or map found where not expected.";
/// A JSON array where something else belongs.
pub const LIST: &str = "Start of list found where not expected";

/// What a member's shape is, from serde's "expected" text.
enum Expected {
    Structure,
    Map,
    List,
    /// A scalar, by its Java name.
    Scalar(&'static str),
}

impl Expected {
    fn of(text: &str) -> Expected {
        let text = text.trim_start_matches("a ").trim_start_matches("an ");
        match text {
            "i8" | "i16" | "i32" | "u8" | "u16" | "u32" => Expected::Scalar("Integer"),
            "i64" | "u64" | "i128" | "u128" | "usize" | "isize" => Expected::Scalar("Long"),
            "f32" | "f64" => Expected::Scalar("Double"),
            "boolean" => Expected::Scalar("Boolean"),
            _ if text.contains("base64") => Expected::Scalar("Blob"),
            _ if text.contains("map") => Expected::Map,
            _ if text.contains("list") || text.contains("sequence") => Expected::List,
            _ if text.contains("string") || text.contains("char") => Expected::Scalar("String"),
            _ => Expected::Structure,
        }
    }
}

/// The Java class coral names for a JSON scalar in serde's words (`integer `5``,
/// `string "x"`); `None` for null.
fn java_class(found: &str) -> Option<&'static str> {
    let (kind, value) = found.split_once(' ').unwrap_or((found, ""));
    Some(match kind {
        "boolean" => "java.lang.Boolean",
        "string" => "java.lang.String",
        "floating" => "java.lang.Double",
        "integer" => {
            let n: i128 = value.trim_matches('`').parse().unwrap_or(i128::MAX);
            if i16::try_from(n).is_ok() {
                "java.lang.Short"
            } else if i32::try_from(n).is_ok() {
                "java.lang.Integer"
            } else {
                "java.lang.Long"
            }
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_texts_become_coral_messages() {
        let cases = [
            (
                "invalid type: floating point `1.5`, expected i64",
                "class java.lang.Double can not be converted to an Long",
            ),
            (
                "invalid type: string \"x\", expected struct SseSpecification",
                "Expected null",
            ),
            (
                "invalid length 0, expected struct ListTablesInput with 2 elements",
                LIST,
            ),
            ("duplicate field `TableName`", "Duplicate field 'TableName'"),
            ("invalid type: map, expected a string", MAP),
            ("invalid type: sequence, expected u32", LIST),
            (
                "invalid type: integer `5`, expected a string",
                "class java.lang.Short can not be converted to an String",
            ),
            (
                "invalid type: boolean `true`, expected u32",
                "class java.lang.Boolean can not be converted to an Integer",
            ),
            (
                "invalid value: integer `-1`, expected u32",
                "-1 can not be converted to an Integer",
            ),
            (
                "invalid type: string \"x\", expected a sequence",
                "Expected list or null",
            ),
            (
                "invalid type: integer `70000`, expected a map",
                "Expected map or null",
            ),
        ];
        for (serde, coral) in cases {
            assert_eq!(coral_message(serde).as_deref(), Some(coral), "{serde}");
        }
    }

    #[test]
    fn our_own_messages_pass_through() {
        assert_eq!(
            coral_message("NUMBER_VALUE cannot be converted to String"),
            None
        );
    }
}
