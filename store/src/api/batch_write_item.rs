//! batch_write_item.
