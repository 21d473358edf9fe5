//! The DynamoDB data model: values, numbers, items, keys, sizes and their encodings.

pub mod codec;
pub mod key;
pub mod keycodec;
pub mod number;
pub mod size;
pub mod value;

pub use key::{KeyAttr, KeySchema, PrimaryKey, ScalarType};
pub use number::Number;
pub use value::{AttributeValue, Item};
