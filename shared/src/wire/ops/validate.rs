//! A collector for DynamoDB's model-constraint errors (DYNAMODB.md §1 row 11), reusable by
//! every operation.
//!
//! DynamoDB checks the service model's constraints (required, length, range, enum,
//! pattern) for the whole request before any semantic check and reports all violations at
//! once: `N validation error(s) detected: Value 'v' at 'path' failed to satisfy
//! constraint: Member must ...`, joined by `; `. At most ten are listed (and counted), as
//! the service does. Paths use lowerCamel member names and 1-based list indexes
//! (`globalSecondaryIndexes.1.member.indexName`); [`member_path`] builds them.

use crate::wire::error::ApiError;

/// DynamoDB lists (and counts) at most this many violations in one message.
pub const MAX_VIOLATIONS: usize = 10;

/// The table and index name pattern, as DynamoDB prints it.
pub const NAME_PATTERN: &str = "[a-zA-Z0-9_.-]+";

/// The special-cased table-name length message the real service sends (before any other
/// constraint is reported).
pub const TABLE_NAME_LENGTH: &str =
    "TableName must be at least 3 characters long and at most 255 characters long";

/// `<parent>.<index>.member.<child>` with a 1-based index, DynamoDB's path form for a
/// member of a list element.
pub fn member_path(parent: &str, zero_based: usize, child: &str) -> String {
    format!("{parent}.{}.member.{child}", zero_based + 1)
}

/// Whether `name` matches `[a-zA-Z0-9_.-]+`.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// Collected violations of one request, in the order they were found.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Violations {
    errors: Vec<String>,
}

impl Violations {
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether nothing was violated so far.
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// Records `Value <v> at '<path>' failed to satisfy constraint: <constraint>`; a `None`
    /// value prints as `null` (no quotes).
    pub fn push(&mut self, value: Option<&str>, path: &str, constraint: &str) {
        let shown = match value {
            Some(v) => format!("'{v}'"),
            None => "null".to_string(),
        };
        self.record(format!(
            "Value {shown} at '{path}' failed to satisfy constraint: {constraint}"
        ));
    }

    /// Keeps a rendered violation, up to [`MAX_VIOLATIONS`].
    fn record(&mut self, violation: String) {
        if self.errors.len() < MAX_VIOLATIONS {
            self.errors.push(violation);
        }
    }

    /// `Member must not be null` when `present` is false; returns `present`.
    pub fn not_null(&mut self, path: &str, present: bool) -> bool {
        if !present {
            self.push(None, path, "Member must not be null");
        }
        present
    }

    /// An enumeration member: absent passes, any other value is listed with the allowed set.
    pub fn enumeration(&mut self, path: &str, value: Option<&str>, allowed: &[&str]) {
        if let Some(v) = value {
            if !allowed.contains(&v) {
                self.push(
                    Some(v),
                    path,
                    &format!(
                        "Member must satisfy enum value set: [{}]",
                        allowed.join(", ")
                    ),
                );
            }
        }
    }

    /// A string's pattern `[a-zA-Z0-9_.-]+` and its length in characters.
    pub fn name(&mut self, path: &str, value: Option<&str>, min: usize, max: usize) {
        let Some(v) = value else { return };
        if !is_valid_name(v) {
            self.push(
                Some(v),
                path,
                &format!("Member must satisfy regular expression pattern: {NAME_PATTERN}"),
            );
        }
        self.length(path, Some(v), min, max);
    }

    /// A string's length in characters.
    pub fn length(&mut self, path: &str, value: Option<&str>, min: usize, max: usize) {
        let Some(v) = value else { return };
        let len = v.chars().count();
        if len < min {
            self.push(
                Some(v),
                path,
                &format!("Member must have length greater than or equal to {min}"),
            );
        }
        if len > max {
            self.push(
                Some(v),
                path,
                &format!("Member must have length less than or equal to {max}"),
            );
        }
    }

    /// A list's length; `shown` is how the list value prints (e.g. `[a, b]`).
    pub fn list_length(&mut self, path: &str, shown: &str, len: usize, min: usize, max: usize) {
        if len < min {
            self.push(
                Some(shown),
                path,
                &format!("Member must have length greater than or equal to {min}"),
            );
        }
        if len > max {
            self.push(
                Some(shown),
                path,
                &format!("Member must have length less than or equal to {max}"),
            );
        }
    }

    /// A list of names' length; the list prints as `[a, b]` (AttributesToGet,
    /// NonKeyAttributes).
    pub fn names_length(&mut self, path: &str, names: Option<&[String]>, min: usize, max: usize) {
        if let Some(names) = names {
            let shown = format!("[{}]", names.join(", "));
            self.list_length(path, &shown, names.len(), min, max);
        }
    }

    /// `Value at 'path' ...`: the form DynamoDB uses for collections whose Java rendering
    /// it would echo (lists of keys, maps of requests). That echo cannot be reproduced, so
    /// it is left out, as the service's newer validation layer does.
    pub fn unechoed(&mut self, path: &str, constraint: &str) {
        self.record(format!(
            "Value at '{path}' failed to satisfy constraint: {constraint}"
        ));
    }

    /// A required table name collected with the other violations (inside a structure, or
    /// in Query and Scan): the name pattern and 3 to 255 characters, or a table ARN of 1
    /// to 1024 characters. Compare [`table_name`], which fails at once on the length.
    pub fn member_table_name(&mut self, path: &str, value: Option<&str>) {
        match value {
            None => {
                self.not_null(path, false);
            }
            Some(v) if v.starts_with("arn:") => self.length(path, Some(v), 1, 1024),
            Some(v) => self.name(path, Some(v), 3, 255),
        }
    }

    /// Table names as map keys (`RequestItems`): one violation for the whole map when any
    /// key is not a valid name (ARNs are accepted). `echo` renders the map when the
    /// operation's echo of it can be reproduced (`None`: left out, as in [`Self::unechoed`]);
    /// it is only called when a name is bad.
    pub fn map_keys_are_table_names<'a>(
        &mut self,
        path: &str,
        mut names: impl Iterator<Item = &'a str>,
        echo: impl FnOnce() -> Option<String>,
    ) {
        let bad = names.any(|n| {
            if n.starts_with("arn:") {
                n.chars().count() > 1024
            } else {
                !is_valid_name(n) || !(3..=255).contains(&n.chars().count())
            }
        });
        if bad {
            let constraint = format!(
                "Map keys must satisfy constraint: [Member must have length less than or equal to 255, Member must have length greater than or equal to 3, Member must satisfy regular expression pattern: {NAME_PATTERN}]"
            );
            match echo() {
                Some(shown) => self.push(Some(&shown), path, &constraint),
                None => self.unechoed(path, &constraint),
            }
        }
    }

    /// An integer's lower bound.
    pub fn at_least(&mut self, path: &str, value: Option<i64>, min: i64) {
        if let Some(v) = value {
            if v < min {
                self.push(
                    Some(&v.to_string()),
                    path,
                    &format!("Member must have value greater than or equal to {min}"),
                );
            }
        }
    }

    /// An integer's upper bound.
    pub fn at_most(&mut self, path: &str, value: Option<i64>, max: i64) {
        if let Some(v) = value {
            if v > max {
                self.push(
                    Some(&v.to_string()),
                    path,
                    &format!("Member must have value less than or equal to {max}"),
                );
            }
        }
    }

    /// `Ok` when nothing was violated, else the one ValidationException listing them.
    pub fn finish(self) -> Result<(), ApiError> {
        match self.errors.len() {
            0 => Ok(()),
            1 => Err(ApiError::validation(format!(
                "1 validation error detected: {}",
                self.errors.join("; ")
            ))),
            n => Err(ApiError::validation(format!(
                "{n} validation errors detected: {}",
                self.errors.join("; ")
            ))),
        }
    }
}

/// The table-name check operations on a table run before the model constraints: a missing
/// name is the `not null` violation (collected), a name (not an ARN) outside 3..=255
/// characters fails at once with [`TABLE_NAME_LENGTH`], and a bad character is collected as
/// a pattern violation. When `allow_arn` is set, a value starting with `arn:` only has to
/// be 1 to 1024 characters (the current model accepts a table ARN there).
pub fn table_name(
    violations: &mut Violations,
    path: &str,
    value: Option<&str>,
    allow_arn: bool,
) -> Result<(), ApiError> {
    match value {
        None => {
            violations.not_null(path, false);
        }
        Some(v) if allow_arn && v.starts_with("arn:") => violations.length(path, Some(v), 1, 1024),
        Some(v) => {
            let len = v.chars().count();
            if !(3..=255).contains(&len) {
                return Err(ApiError::validation(TABLE_NAME_LENGTH));
            }
            if !is_valid_name(v) {
                violations.push(
                    Some(v),
                    path,
                    &format!("Member must satisfy regular expression pattern: {NAME_PATTERN}"),
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(v: Violations) -> String {
        v.finish().err().and_then(|e| e.message).unwrap_or_default()
    }

    #[test]
    fn member_table_names_are_collected_with_the_other_violations() {
        let mut v = Violations::new();
        v.enumeration("select", Some("BOGUS"), &["COUNT", "ALL_ATTRIBUTES"]);
        v.member_table_name("tableName", Some("ab"));
        v.at_least("limit", Some(0), 1);
        assert_eq!(
            message(v),
            "3 validation errors detected: Value 'BOGUS' at 'select' failed to satisfy constraint: Member must satisfy enum value set: [COUNT, ALL_ATTRIBUTES]; \
             Value 'ab' at 'tableName' failed to satisfy constraint: Member must have length greater than or equal to 3; \
             Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"
        );
        let mut v = Violations::new();
        v.member_table_name("tableName", None);
        assert_eq!(
            message(v),
            "1 validation error detected: Value null at 'tableName' failed to satisfy constraint: Member must not be null"
        );
        // An empty name fails both the pattern and the length.
        let mut v = Violations::new();
        v.member_table_name("tableName", Some(""));
        assert!(message(v).starts_with("2 validation errors detected: Value '' at 'tableName'"));
        let mut v = Violations::new();
        v.member_table_name("tableName", Some("acc_1.t-x"));
        v.member_table_name("tableName", Some(&format!("arn:{}", "x".repeat(1000))));
        assert!(v.finish().is_ok());
        let mut v = Violations::new();
        v.member_table_name("tableName", Some(&format!("arn:{}", "x".repeat(1021))));
        assert!(message(v).contains("Member must have length less than or equal to 1024"));
    }

    #[test]
    fn collections_are_echoed_only_where_reproducible_and_map_keys_are_checked_as_one() {
        let mut v = Violations::new();
        v.unechoed(
            "requestItems.t.member.keys",
            "Member must have length less than or equal to 100",
        );
        v.map_keys_are_table_names("requestItems", ["good", "x"].into_iter(), || None);
        v.map_keys_are_table_names("requestItems", ["good", "arn:aws:t"].into_iter(), || {
            unreachable!("only a bad name is echoed")
        });
        v.map_keys_are_table_names("requestItems", ["x"].into_iter(), || Some("{x=1}".into()));
        let text = message(v);
        assert!(text.starts_with(
            "3 validation errors detected: Value at 'requestItems.t.member.keys' failed to satisfy constraint: Member must have length less than or equal to 100; \
             Value at 'requestItems' failed to satisfy constraint: Map keys must satisfy constraint: ["
        ), "{text}");
        assert!(text.contains("]; Value '{x=1}' at 'requestItems' failed to satisfy constraint: Map keys must satisfy constraint: [Member must have length less than or equal to 255, "), "{text}");
        let mut v = Violations::new();
        v.names_length("attributesToGet", Some(&[]), 1, 255);
        v.names_length("attributesToGet", None, 1, 255);
        assert_eq!(
            message(v),
            "1 validation error detected: Value '[]' at 'attributesToGet' failed to satisfy constraint: Member must have length greater than or equal to 1"
        );
    }

    #[test]
    fn one_and_several_violations() {
        let mut v = Violations::new();
        v.not_null("tableName", false);
        assert_eq!(
            message(v),
            "1 validation error detected: Value null at 'tableName' failed to satisfy constraint: Member must not be null"
        );
        let mut v = Violations::new();
        v.at_least("limit", Some(0), 1);
        v.enumeration(
            "billingMode",
            Some("X"),
            &["PROVISIONED", "PAY_PER_REQUEST"],
        );
        assert_eq!(
            message(v),
            "2 validation errors detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1; \
             Value 'X' at 'billingMode' failed to satisfy constraint: Member must satisfy enum value set: [PROVISIONED, PAY_PER_REQUEST]"
        );
    }

    #[test]
    fn at_most_ten_are_listed() {
        let mut v = Violations::new();
        for i in 0..27 {
            v.not_null(
                &member_path("localSecondaryIndexes", i, "projection"),
                false,
            );
        }
        let text = message(v);
        assert!(text.starts_with("10 validation errors detected: Value null at 'localSecondaryIndexes.1.member.projection'"));
        assert_eq!(text.matches("; ").count(), 9);
    }

    #[test]
    fn table_name_rules() {
        let mut v = Violations::new();
        let short = table_name(&mut v, "tableName", Some("ab"), false);
        assert_eq!(
            short.err().and_then(|e| e.message).as_deref(),
            Some(TABLE_NAME_LENGTH)
        );
        let long = "x".repeat(256);
        assert!(table_name(&mut v, "tableName", Some(&long), false).is_err());
        assert!(table_name(&mut v, "tableName", Some("abc;"), false).is_ok());
        assert_eq!(
            message(v),
            "1 validation error detected: Value 'abc;' at 'tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"
        );
        let mut v = Violations::new();
        assert!(table_name(
            &mut v,
            "tableName",
            Some("arn:aws:dynamodb:us-east-1:1:table/t"),
            true
        )
        .is_ok());
        assert!(v.is_empty());
    }
}
