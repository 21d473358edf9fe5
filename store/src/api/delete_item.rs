//! delete_item.
