//! put_item.
