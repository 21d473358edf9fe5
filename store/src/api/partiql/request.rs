//! The model constraints on a statement's members, checked for the whole request before
//! any statement is planned, as DynamoDB checks its service model: a batch or transaction
//! with one malformed entry is refused whole, not answered entry by entry.

use shared::model::AttributeValue;
use shared::wire::ops::validate::{member_path, Violations};

use crate::api::item_write::RETURN_VALUES_ON_FAILURE;

/// One statement's members as a request carries them.
pub struct Members<'a> {
    pub statement: Option<&'a str>,
    pub parameters: Option<&'a [AttributeValue]>,
    pub on_failure: Option<&'a str>,
}

/// Collects the violations of the statement at `position` of list `list` (`None`: the
/// request is the statement, as in ExecuteStatement): `Statement` is required, a
/// `Parameters` list is never empty, `ReturnValuesOnConditionCheckFailure` is `ALL_OLD` or
/// `NONE`. The statement's length is the parser's to check.
pub fn check(c: &mut Violations, at: Option<(&str, usize)>, members: &Members<'_>) {
    let path = |member: &str| match at {
        Some((list, position)) => member_path(list, position, member),
        None => member.to_string(),
    };
    c.not_null(&path("statement"), members.statement.is_some());
    if members.parameters.is_some_and(<[AttributeValue]>::is_empty) {
        c.unechoed(
            &path("parameters"),
            "Member must have length greater than or equal to 1",
        );
    }
    c.enumeration(
        &path("returnValuesOnConditionCheckFailure"),
        members.on_failure,
        RETURN_VALUES_ON_FAILURE,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(at: Option<(&str, usize)>, members: Members<'_>) -> Option<String> {
        let mut c = Violations::new();
        check(&mut c, at, &members);
        c.finish().err().and_then(|e| e.message)
    }

    #[test]
    fn a_statement_needs_its_text_non_empty_parameters_and_a_known_return() {
        let fine = Members {
            statement: Some("SELECT * FROM t"),
            parameters: None,
            on_failure: Some("ALL_OLD"),
        };
        assert_eq!(message(None, fine), None);
        let empty = Members {
            statement: Some("SELECT * FROM t WHERE a = ?"),
            parameters: Some(&[]),
            on_failure: None,
        };
        assert_eq!(
            message(None, empty).as_deref(),
            Some("1 validation error detected: Value at 'parameters' failed to satisfy constraint: Member must have length greater than or equal to 1")
        );
        let all_wrong = Members {
            statement: None,
            parameters: Some(&[]),
            on_failure: Some("BOGUS"),
        };
        assert_eq!(
            message(Some(("statements", 1)), all_wrong).as_deref(),
            Some("3 validation errors detected: Value null at 'statements.2.member.statement' failed to satisfy constraint: Member must not be null; Value at 'statements.2.member.parameters' failed to satisfy constraint: Member must have length greater than or equal to 1; Value 'BOGUS' at 'statements.2.member.returnValuesOnConditionCheckFailure' failed to satisfy constraint: Member must satisfy enum value set: [ALL_OLD, NONE]")
        );
    }
}
