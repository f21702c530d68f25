//! The columns of each channel's Parquet file and the arrow builders that collect them.
//!
//! Every file starts with `exchange`, `symbol`, `channel` (UTF8), `recv_ns` (UINT64) and
//! `exchange_ns` (UINT64, null where the venue gives none). Then:
//! - a tick channel's fields in [`Channel::fields`] order (see [`tick_kind`]);
//! - `depth`: one row per level change, as in CSV: `is_snapshot`, `first_update_id`
//!   (null on a snapshot), `update_id`, `prev_update_id` (null where the venue sends
//!   none), `side` (`bid`/`ask`), `price`, `qty` (exact text); an empty snapshot is one
//!   row with `side`, `price` and `qty` null, so no snapshot goes unseen;
//! - `book`: one row per book row, as in CSV: `update_id`, then `bid_0_price`,
//!   `bid_0_qty`, ... `ask_{N-1}_qty` for `--book-levels` N (text, null where the book is
//!   shorter). Flat columns rather than lists: a book row has a fixed number of levels, and
//!   `bid_0_price` reads as a plain column in pandas, polars and SQL.

use std::sync::Arc;

use arrow_array::ArrayRef;
use arrow_array::builder::{BooleanBuilder, StringBuilder, UInt64Builder};
use arrow_schema::{DataType, Field, Schema, SchemaRef};

use crate::tick::{COMMON_FIELDS, Channel};

/// What a column holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Text,
    Int,
    Flag,
}

/// One column: its name, kind and whether it may be null.
pub(super) struct Col {
    pub name: String,
    pub kind: Kind,
    pub nullable: bool,
}

fn col(name: impl Into<String>, kind: Kind, nullable: bool) -> Col {
    Col {
        name: name.into(),
        kind,
        nullable,
    }
}

/// The value kind of a tick channel's field: ids and times are integers, flags are
/// booleans, the rest (and `trade_id`, which may be a UUID) is text. A text column takes
/// any value as its text; an integer or flag column only takes its own kind (a unit test
/// holds every venue's values to that).
pub(super) fn tick_kind(name: &str) -> Kind {
    if name == "trade_id" {
        Kind::Text
    } else if name.ends_with("_time") || name.ends_with("_id") || name == "trades" {
        Kind::Int
    } else if ["buyer_is_maker", "closed"].contains(&name) || name.starts_with("is_") {
        Kind::Flag
    } else {
        Kind::Text
    }
}

/// `channel`'s columns, in order; `book_levels` levels a side for `book`.
pub(super) fn columns(channel: Channel, book_levels: usize) -> Vec<Col> {
    let mut cols = vec![
        col(COMMON_FIELDS[0], Kind::Text, false),
        col(COMMON_FIELDS[1], Kind::Text, false),
        col(COMMON_FIELDS[2], Kind::Text, false),
        col(COMMON_FIELDS[3], Kind::Int, false),
        col(COMMON_FIELDS[4], Kind::Int, true),
    ];
    match channel {
        Channel::Depth => cols.extend([
            col("is_snapshot", Kind::Flag, false),
            col("first_update_id", Kind::Int, true),
            col("update_id", Kind::Int, false),
            col("prev_update_id", Kind::Int, true),
            col("side", Kind::Text, true),
            col("price", Kind::Text, true),
            col("qty", Kind::Text, true),
        ]),
        Channel::Book => {
            cols.push(col("update_id", Kind::Int, false));
            for side in ["bid", "ask"] {
                for i in 0..book_levels {
                    for field in ["price", "qty"] {
                        cols.push(col(format!("{side}_{i}_{field}"), Kind::Text, true));
                    }
                }
            }
        }
        _ => cols.extend(
            channel
                .fields()
                .iter()
                .map(|name| col(*name, tick_kind(name), false)),
        ),
    }
    cols
}

/// The arrow schema of `columns`.
pub(super) fn schema(columns: &[Col]) -> SchemaRef {
    let fields: Vec<Field> = columns
        .iter()
        .map(|c| {
            let data_type = match c.kind {
                Kind::Text => DataType::Utf8,
                Kind::Int => DataType::UInt64,
                Kind::Flag => DataType::Boolean,
            };
            Field::new(&c.name, data_type, c.nullable)
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// One column's builder.
pub(super) enum Builder {
    Text(StringBuilder),
    Int(UInt64Builder),
    Flag(BooleanBuilder),
}

impl Builder {
    pub fn new(kind: Kind) -> Builder {
        match kind {
            Kind::Text => Builder::Text(StringBuilder::new()),
            Kind::Int => Builder::Int(UInt64Builder::new()),
            Kind::Flag => Builder::Flag(BooleanBuilder::new()),
        }
    }

    pub fn text(&mut self, value: Option<&str>) {
        if let Builder::Text(b) = self {
            b.append_option(value);
        }
    }

    pub fn int(&mut self, value: Option<u64>) {
        if let Builder::Int(b) = self {
            b.append_option(value);
        }
    }

    pub fn flag(&mut self, value: bool) {
        if let Builder::Flag(b) = self {
            b.append_value(value);
        }
    }

    /// The column's bytes so far (values, offsets and validity), for bounding the buffer.
    pub fn bytes(&self) -> usize {
        use arrow_array::builder::ArrayBuilder;
        match self {
            Builder::Text(b) => b.values_slice().len() + 4 * b.len() + b.len() / 8,
            Builder::Int(b) => 8 * b.len() + b.len() / 8,
            Builder::Flag(b) => b.len() / 4,
        }
    }

    pub fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::Text(b) => Arc::new(b.finish()),
            Builder::Int(b) => Arc::new(b.finish()),
            Builder::Flag(b) => Arc::new(b.finish()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_and_book_columns_follow_the_csv() {
        let names = |c: Vec<Col>| c.into_iter().map(|c| c.name).collect::<Vec<_>>().join(",");
        assert_eq!(
            names(columns(Channel::Depth, 5)),
            "exchange,symbol,channel,recv_ns,exchange_ns,is_snapshot,first_update_id,update_id,prev_update_id,side,price,qty"
        );
        assert_eq!(
            names(columns(Channel::Book, 2)),
            "exchange,symbol,channel,recv_ns,exchange_ns,update_id,bid_0_price,bid_0_qty,bid_1_price,bid_1_qty,ask_0_price,ask_0_qty,ask_1_price,ask_1_qty"
        );
    }
}
