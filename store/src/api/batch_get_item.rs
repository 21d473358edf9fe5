//! batch_get_item.
