//! The DynamoDB data model: values, numbers, items, keys, sizes and their encodings.
//!
//! - [`value`]: `AttributeValue`, `Item`, their DynamoDB JSON form with DynamoDB's
//!   validation messages, `ExpressionValues`, the 32-level nesting limit.
//! - [`number`]: 38-digit decimal numbers with exact add/sub and cheap numeric ordering.
//! - [`key`]: key schemas, primary keys and their validation messages.
//! - [`size`]: DynamoDB's item size formula.
//! - [`keycodec`]: order-preserving, self-delimiting key encodings and the partition hash
//!   (on-disk layout).
//! - [`codec`]: the compact, versioned binary item encoding (on-disk layout).
//! - [`json_out`]: the DynamoDB JSON writer for values and items (response bodies),
//!   byte-identical to serde_json's output.

pub mod codec;
pub mod json_out;
pub mod key;
pub mod keycodec;
pub mod number;
pub mod size;
pub mod value;

#[cfg(test)]
pub(crate) mod testing;

pub use key::{KeyAttr, KeySchema, PrimaryKey, ScalarType};
pub use number::{Number, NumberError};
pub use value::{
    check_attribute_name, check_built_item, check_nested_names, AttributeValue, ExpressionValues,
    Item, MAX_ATTRIBUTE_NAME_BYTES,
};
