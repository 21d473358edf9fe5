//! The one error type that crosses the wire, and the only code that writes `__type`.
//!
//! Every failure a client can see is an [`ApiError`]: a closed [`ErrorCode`] (which fixes
//! the namespace and HTTP status DynamoDB uses), DynamoDB's message text, and the extra
//! members some errors carry (`Item` for ReturnValuesOnConditionCheckFailure,
//! `CancellationReasons` for cancelled transactions).

use serde_json::{json, Map, Value};

use crate::model::Item;

/// DynamoDB's error codes, with their wire namespace and HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    // com.amazon.coral.validate
    ValidationException,
    // com.amazon.coral.service
    SerializationException,
    UnknownOperationException,
    MissingAuthenticationTokenException,
    IncompleteSignatureException,
    InvalidSignatureException,
    UnrecognizedClientException,
    AccessDeniedException,
    // com.amazonaws.dynamodb.v20120810
    ConditionalCheckFailedException,
    ResourceNotFoundException,
    ResourceInUseException,
    ProvisionedThroughputExceededException,
    ItemCollectionSizeLimitExceededException,
    LimitExceededException,
    TransactionCanceledException,
    TransactionConflictException,
    TransactionInProgressException,
    IdempotentParameterMismatchException,
    RequestLimitExceeded,
    BackupNotFoundException,
    BackupInUseException,
    TableAlreadyExistsException,
    TableNotFoundException,
    TableInUseException,
    InvalidRestoreTimeException,
    PointInTimeRecoveryUnavailableException,
    ContinuousBackupsUnavailableException,
    DuplicateItemException,
    ExportNotFoundException,
    ExportConflictException,
    InvalidExportTimeException,
    ImportNotFoundException,
    ImportConflictException,
    PolicyNotFoundException,
    GlobalTableNotFoundException,
    InternalServerError,
    // com.amazon.coral.availability
    ThrottlingException,
    // Streams API
    ExpiredIteratorException,
    TrimmedDataAccessException,
    ServiceUnavailable,
}

impl ErrorCode {
    /// Whether the error is a refusal for capacity or rate, which the same call passes
    /// once the table's capacity has refilled.
    pub fn is_throttling(self) -> bool {
        matches!(
            self,
            ErrorCode::ProvisionedThroughputExceededException
                | ErrorCode::ThrottlingException
                | ErrorCode::RequestLimitExceeded
        )
    }

    /// The short code DynamoDB names this error by inside a response that carries several
    /// outcomes: a cancellation reason of a transaction, an entry of BatchExecuteStatement.
    pub fn reason_code(self) -> &'static str {
        use ErrorCode::*;
        match self {
            ConditionalCheckFailedException => "ConditionalCheckFailed",
            DuplicateItemException => "DuplicateItem",
            ValidationException => "ValidationError",
            ResourceNotFoundException => "ResourceNotFound",
            ProvisionedThroughputExceededException => "ProvisionedThroughputExceeded",
            TransactionConflictException => "TransactionConflict",
            RequestLimitExceeded => "RequestLimitExceeded",
            ThrottlingException => "ThrottlingError",
            ItemCollectionSizeLimitExceededException => "ItemCollectionSizeLimitExceeded",
            AccessDeniedException => "AccessDenied",
            _ => "InternalServerError",
        }
    }

    /// The bare code name, as SDKs report it.
    pub fn name(self) -> &'static str {
        use ErrorCode::*;
        match self {
            ValidationException => "ValidationException",
            SerializationException => "SerializationException",
            UnknownOperationException => "UnknownOperationException",
            MissingAuthenticationTokenException => "MissingAuthenticationTokenException",
            IncompleteSignatureException => "IncompleteSignatureException",
            InvalidSignatureException => "InvalidSignatureException",
            UnrecognizedClientException => "UnrecognizedClientException",
            AccessDeniedException => "AccessDeniedException",
            ConditionalCheckFailedException => "ConditionalCheckFailedException",
            ResourceNotFoundException => "ResourceNotFoundException",
            ResourceInUseException => "ResourceInUseException",
            ProvisionedThroughputExceededException => "ProvisionedThroughputExceededException",
            ItemCollectionSizeLimitExceededException => "ItemCollectionSizeLimitExceededException",
            LimitExceededException => "LimitExceededException",
            TransactionCanceledException => "TransactionCanceledException",
            TransactionConflictException => "TransactionConflictException",
            TransactionInProgressException => "TransactionInProgressException",
            IdempotentParameterMismatchException => "IdempotentParameterMismatchException",
            RequestLimitExceeded => "RequestLimitExceeded",
            BackupNotFoundException => "BackupNotFoundException",
            BackupInUseException => "BackupInUseException",
            TableAlreadyExistsException => "TableAlreadyExistsException",
            TableNotFoundException => "TableNotFoundException",
            TableInUseException => "TableInUseException",
            InvalidRestoreTimeException => "InvalidRestoreTimeException",
            PointInTimeRecoveryUnavailableException => "PointInTimeRecoveryUnavailableException",
            ContinuousBackupsUnavailableException => "ContinuousBackupsUnavailableException",
            DuplicateItemException => "DuplicateItemException",
            ExportNotFoundException => "ExportNotFoundException",
            ExportConflictException => "ExportConflictException",
            InvalidExportTimeException => "InvalidExportTimeException",
            ImportNotFoundException => "ImportNotFoundException",
            ImportConflictException => "ImportConflictException",
            PolicyNotFoundException => "PolicyNotFoundException",
            GlobalTableNotFoundException => "GlobalTableNotFoundException",
            InternalServerError => "InternalServerError",
            ThrottlingException => "ThrottlingException",
            ExpiredIteratorException => "ExpiredIteratorException",
            TrimmedDataAccessException => "TrimmedDataAccessException",
            ServiceUnavailable => "ServiceUnavailable",
        }
    }

    /// The namespace real DynamoDB puts before `#` in `__type`.
    pub fn namespace(self) -> &'static str {
        use ErrorCode::*;
        match self {
            ValidationException => "com.amazon.coral.validate",
            SerializationException
            | UnknownOperationException
            | MissingAuthenticationTokenException
            | IncompleteSignatureException
            | InvalidSignatureException
            | UnrecognizedClientException
            | AccessDeniedException => "com.amazon.coral.service",
            ThrottlingException => "com.amazon.coral.availability",
            ExpiredIteratorException | TrimmedDataAccessException => {
                "com.amazonaws.dynamodb.v20120810"
            }
            _ => "com.amazonaws.dynamodb.v20120810",
        }
    }

    /// DynamoDB's HTTP status for this error.
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::InternalServerError => 500,
            ErrorCode::ServiceUnavailable => 503,
            _ => 400,
        }
    }
}

/// One entry of `ThrottlingReasons` in a throttling error: why (`<Table|Index><Read|Write>`
/// then the limit, e.g. `TableReadProvisionedThroughputExceeded`) and which table or index
/// (its ARN) was out of capacity.
#[derive(Debug, Clone, PartialEq)]
pub struct ThrottlingReason {
    pub reason: String,
    pub resource: String,
}

/// One entry of `CancellationReasons` in a TransactionCanceledException.
#[derive(Debug, Clone, PartialEq)]
pub struct CancellationReason {
    /// `None`, `ConditionalCheckFailed`, `ValidationError`, ...
    pub code: String,
    pub message: Option<String>,
    pub item: Option<Item>,
}

impl CancellationReason {
    /// The entry for an action that did not fail.
    pub fn none() -> Self {
        CancellationReason {
            code: "None".into(),
            message: None,
            item: None,
        }
    }

    /// The entry for an action refused as invalid, saying why.
    pub fn validation_error(message: Option<String>) -> Self {
        CancellationReason {
            code: "ValidationError".into(),
            message,
            item: None,
        }
    }
}

/// An error as a DynamoDB client sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: ErrorCode,
    /// DynamoDB's text; `None` where DynamoDB sends no message at all.
    pub message: Option<String>,
    /// The existing item, for ReturnValuesOnConditionCheckFailure = ALL_OLD.
    pub item: Option<Item>,
    pub cancellation_reasons: Option<Vec<CancellationReason>>,
    /// For throttling errors: which limits refused the request.
    pub throttling_reasons: Option<Vec<ThrottlingReason>>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {}",
            self.code.name(),
            self.message.as_deref().unwrap_or("")
        )
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: Some(message.into()),
            item: None,
            cancellation_reasons: None,
            throttling_reasons: None,
        }
    }

    /// An error DynamoDB sends without a message (SerializationException for bad JSON,
    /// UnknownOperationException).
    pub fn bare(code: ErrorCode) -> Self {
        ApiError {
            code,
            message: None,
            item: None,
            cancellation_reasons: None,
            throttling_reasons: None,
        }
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ValidationException, message)
    }

    /// `One or more parameter values were invalid: <detail>`.
    pub fn invalid_parameter(detail: impl std::fmt::Display) -> Self {
        Self::validation(format!(
            "One or more parameter values were invalid: {detail}"
        ))
    }

    pub fn serialization(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::SerializationException, message)
    }

    /// ResourceNotFoundException `Requested resource not found` (data-plane form).
    pub fn resource_not_found() -> Self {
        Self::new(
            ErrorCode::ResourceNotFoundException,
            "Requested resource not found",
        )
    }

    /// ResourceNotFoundException for a control-plane call on a missing table.
    pub fn table_not_found(table: &str) -> Self {
        Self::new(
            ErrorCode::ResourceNotFoundException,
            format!("Requested resource not found: Table: {table} not found"),
        )
    }

    /// ConditionalCheckFailedException, carrying the old item when asked for.
    pub fn conditional_check_failed(item: Option<Item>) -> Self {
        ApiError {
            item,
            ..Self::new(
                ErrorCode::ConditionalCheckFailedException,
                "The conditional request failed",
            )
        }
    }

    /// InternalServerError with a generic message: the detail is logged, never sent.
    pub fn internal() -> Self {
        Self::new(ErrorCode::InternalServerError, "Internal server error")
    }

    /// TransactionCanceledException with one reason per action, in request order.
    pub fn transaction_canceled(reasons: Vec<CancellationReason>) -> Self {
        let codes: Vec<&str> = reasons.iter().map(|r| r.code.as_str()).collect();
        let message = format!(
            "Transaction cancelled, please refer cancellation reasons for specific reasons [{}]",
            codes.join(", ")
        );
        ApiError {
            cancellation_reasons: Some(reasons),
            ..Self::new(ErrorCode::TransactionCanceledException, message)
        }
    }

    /// A throttling error (`code` one of the throttling exceptions) naming why.
    pub fn throttled(code: ErrorCode, message: &str, reasons: Vec<ThrottlingReason>) -> Self {
        ApiError {
            throttling_reasons: Some(reasons),
            ..Self::new(code, message)
        }
    }

    /// The `__type` value: `<namespace>#<Code>`.
    pub fn type_name(&self) -> String {
        format!("{}#{}", self.code.namespace(), self.code.name())
    }

    pub fn status(&self) -> u16 {
        self.code.status()
    }

    /// The JSON body. SerializationException uses `Message` (capital M), as DynamoDB does.
    pub fn to_json(&self) -> Value {
        let mut body = Map::new();
        body.insert("__type".into(), Value::String(self.type_name()));
        if let Some(message) = &self.message {
            let key = if self.code == ErrorCode::SerializationException {
                "Message"
            } else {
                "message"
            };
            body.insert(key.into(), Value::String(message.clone()));
        }
        if let Some(item) = &self.item {
            body.insert("Item".into(), json!(item_to_json(item)));
        }
        if let Some(reasons) = &self.cancellation_reasons {
            let list: Vec<Value> = reasons
                .iter()
                .map(|r| {
                    let mut entry = Map::new();
                    entry.insert("Code".into(), Value::String(r.code.clone()));
                    if let Some(m) = &r.message {
                        entry.insert("Message".into(), Value::String(m.clone()));
                    }
                    if let Some(item) = &r.item {
                        entry.insert("Item".into(), item_to_json(item));
                    }
                    Value::Object(entry)
                })
                .collect();
            body.insert("CancellationReasons".into(), Value::Array(list));
        }
        if let Some(reasons) = &self.throttling_reasons {
            let list = reasons
                .iter()
                .map(|r| json!({"reason": r.reason, "resource": r.resource}))
                .collect();
            // The service model spells the member `throttlingReasons` on the generic
            // ThrottlingException and `ThrottlingReasons` on DynamoDB's own exceptions; the
            // SDKs read only the spelling of their model.
            let key = if self.code == ErrorCode::ThrottlingException {
                "throttlingReasons"
            } else {
                "ThrottlingReasons"
            };
            body.insert(key.into(), Value::Array(list));
        }
        Value::Object(body)
    }

    /// The serialized body bytes.
    pub fn to_body(&self) -> Vec<u8> {
        serde_json::to_vec(&self.to_json()).unwrap_or_else(|_| b"{}".to_vec())
    }
}

fn item_to_json(item: &Item) -> Value {
    serde_json::to_value(item).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_uses_coral_validate_namespace() {
        let e = ApiError::validation("bad");
        assert_eq!(
            e.type_name(),
            "com.amazon.coral.validate#ValidationException"
        );
        assert_eq!(e.to_json()["message"], "bad");
        assert_eq!(e.status(), 400);
    }

    #[test]
    fn serialization_has_capital_message_and_bare_has_none() {
        let e = ApiError::serialization("NUMBER_VALUE cannot be converted to String");
        assert!(e.to_json().get("Message").is_some());
        let bare = ApiError::bare(ErrorCode::UnknownOperationException);
        assert_eq!(bare.to_json().as_object().map(|o| o.len()), Some(1));
    }

    #[test]
    fn cancellation_message_lists_codes_in_order() {
        let mut failed = CancellationReason::none();
        failed.code = "ConditionalCheckFailed".into();
        failed.message = Some("The conditional request failed".into());
        let e = ApiError::transaction_canceled(vec![failed, CancellationReason::none()]);
        assert_eq!(
            e.message.as_deref(),
            Some("Transaction cancelled, please refer cancellation reasons for specific reasons [ConditionalCheckFailed, None]")
        );
        let json = e.to_json();
        assert_eq!(json["CancellationReasons"][1], json!({"Code": "None"}));
        assert_eq!(ErrorCode::InternalServerError.status(), 500);
    }

    #[test]
    fn throttling_errors_name_their_reasons() {
        let e = ApiError::throttled(
            ErrorCode::ThrottlingException,
            "slow down",
            vec![ThrottlingReason {
                reason: "TableReadMaxOnDemandThroughputExceeded".into(),
                resource: "arn:aws:dynamodb:us-east-1:000000000000:table/t".into(),
            }],
        );
        assert_eq!(
            e.to_json(),
            json!({
                "__type": "com.amazon.coral.availability#ThrottlingException",
                "message": "slow down",
                "throttlingReasons": [{
                    "reason": "TableReadMaxOnDemandThroughputExceeded",
                    "resource": "arn:aws:dynamodb:us-east-1:000000000000:table/t"
                }]
            })
        );
        let provisioned = ApiError::throttled(
            ErrorCode::ProvisionedThroughputExceededException,
            "slow down",
            vec![],
        );
        assert_eq!(provisioned.to_json()["ThrottlingReasons"], json!([]));
        let plain = ApiError::validation("x").to_json();
        assert!(
            plain.get("ThrottlingReasons").is_none() && plain.get("throttlingReasons").is_none()
        );
    }
}
