//! One Parquet file of one channel's ticks (arrow-rs `parquet`), zstd compressed.
//!
//! Schema: `exchange`, `symbol`, `channel` (UTF8), `recv_ns` (UINT64), then the channel's
//! fields in [`Channel::fields`] order: decimals as their exact text (UTF8), ids and times as
//! UINT64, flags as BOOLEAN, except `trade_id`, which is UTF8 text for every venue (Binance's
//! integers as their digits, Bybit derivatives' UUIDs as their canonical text): one column
//! type across venues, and no id that an integer column cannot hold. So each row holds
//! exactly what the NDJSON line of the same tick holds. Rows collect in arrow builders and go to the writer a batch at a time; the writer
//! keeps the current row group's encoded, compressed pages in memory until `--row-group-rows`
//! rows (or the file's end). The footer is written by [`ParquetFile::finish`]; until then
//! the file is a `.partial` (a file without footer is never named `.parquet`).

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{BooleanBuilder, StringBuilder, UInt64Builder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

mod decimal;

use super::output::named;
use crate::tick::{COMMON_FIELDS, Channel, Tick, Value};

/// The default of `--row-group-rows`.
pub const DEFAULT_ROW_GROUP_ROWS: usize = 1_000_000;

/// Rows collected before they are handed to the writer as one record batch.
const BATCH_ROWS: usize = 8192;

/// One column's builder.
enum Column {
    Text(StringBuilder),
    Int(UInt64Builder),
    Flag(BooleanBuilder),
}

impl Column {
    fn finish(&mut self) -> ArrayRef {
        match self {
            Column::Text(b) => Arc::new(b.finish()),
            Column::Int(b) => Arc::new(b.finish()),
            Column::Flag(b) => Arc::new(b.finish()),
        }
    }
}

/// The arrow schema of `channel`'s rows; the channel's field types come from a sample tick.
pub fn schema(channel: Channel) -> SchemaRef {
    let mut fields = vec![
        Field::new(COMMON_FIELDS[0], DataType::Utf8, false),
        Field::new(COMMON_FIELDS[1], DataType::Utf8, false),
        Field::new(COMMON_FIELDS[2], DataType::Utf8, false),
        Field::new(COMMON_FIELDS[3], DataType::UInt64, false),
        // Null where the venue gives no event time, as in NDJSON.
        Field::new(COMMON_FIELDS[4], DataType::UInt64, true),
    ];
    for (name, kind) in channel.fields().iter().zip(kinds(channel)) {
        let data_type = match kind {
            Kind::Text => DataType::Utf8,
            Kind::Int => DataType::UInt64,
            Kind::Flag => DataType::Boolean,
        };
        fields.push(Field::new(*name, data_type, false));
    }
    Arc::new(Schema::new(fields))
}

#[derive(Clone, Copy)]
enum Kind {
    Text,
    Int,
    Flag,
}

/// The value kind of each of `channel`'s fields, in order: ids and times are integers,
/// flags are booleans, the rest (and `trade_id`, which may be a UUID) is text. A text
/// column takes any value as its text; an integer or flag column only takes its own kind
/// (a unit test holds every venue's values to that).
fn kinds(channel: Channel) -> Vec<Kind> {
    channel
        .fields()
        .iter()
        .map(|name| {
            if *name == "trade_id" {
                Kind::Text
            } else if name.ends_with("_time") || name.ends_with("_id") || *name == "trades" {
                Kind::Int
            } else if ["buyer_is_maker", "closed"].contains(name) || name.starts_with("is_") {
                Kind::Flag
            } else {
                Kind::Text
            }
        })
        .collect()
}

/// A Parquet file being written.
pub struct ParquetFile {
    /// Made at the first batch (with `--parquet-decimal`, whose scales it fixes).
    writer: Option<ArrowWriter<File>>,
    /// The file, until the writer takes it.
    file: Option<File>,
    props: WriterProperties,
    /// The text schema the builders follow.
    schema: SchemaRef,
    /// `--parquet-decimal`: the decimal text columns and their scales, once known.
    decimal: Option<Vec<(usize, i8)>>,
    /// Whether `--parquet-decimal` is on.
    with_decimal: bool,
    columns: Vec<Column>,
    rows: usize,
    path: PathBuf,
}

impl ParquetFile {
    /// Creates `path` (which must not exist) for `channel`'s rows; with `with_decimal`, a
    /// DECIMAL column beside each decimal text column (see `decimal`).
    pub fn create(
        path: &Path,
        channel: Channel,
        row_group_rows: usize,
        with_decimal: bool,
    ) -> io::Result<ParquetFile> {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| named(path, e))?;
        let schema = schema(channel);
        let level = ZstdLevel::try_new(3).map_err(|e| named(path, io::Error::other(e)))?;
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(level))
            .set_max_row_group_row_count(Some(row_group_rows))
            .build();
        let columns = schema
            .fields()
            .iter()
            .map(|f| match f.data_type() {
                DataType::Utf8 => Column::Text(StringBuilder::new()),
                DataType::UInt64 => Column::Int(UInt64Builder::new()),
                _ => Column::Flag(BooleanBuilder::new()),
            })
            .collect();
        let mut file = ParquetFile {
            writer: None,
            file: Some(file),
            props,
            schema,
            decimal: None,
            with_decimal,
            columns,
            rows: 0,
            path: path.to_owned(),
        };
        if !with_decimal {
            // The schema is known: open the writer now, as before any row.
            file.writer_for(file.schema.clone())?;
        }
        Ok(file)
    }

    /// The writer, made with `schema` if there is none yet.
    fn writer_for(&mut self, schema: SchemaRef) -> io::Result<&mut ArrowWriter<File>> {
        if self.writer.is_none() {
            let file = self
                .file
                .take()
                .expect("the file until the writer takes it");
            let writer = ArrowWriter::try_new(file, schema, Some(self.props.clone()))
                .map_err(|e| named(&self.path, io::Error::other(e)))?;
            self.writer = Some(writer);
        }
        Ok(self.writer.as_mut().expect("just made"))
    }

    /// Adds one row. A tick of another channel than the file's is refused by the caller.
    pub fn push(&mut self, tick: &Tick) {
        let mut columns = self.columns.iter_mut();
        let text = |c: Option<&mut Column>, s: &str| {
            if let Some(Column::Text(b)) = c {
                b.append_value(s);
            }
        };
        text(columns.next(), tick.exchange.name());
        text(columns.next(), tick.symbol.as_str());
        text(columns.next(), tick.channel().as_str());
        if let Some(Column::Int(b)) = columns.next() {
            b.append_value(tick.recv_ns);
        }
        if let Some(Column::Int(b)) = columns.next() {
            b.append_option(tick.exchange_ns());
        }
        let mut buf = Vec::new();
        tick.data.visit(|_, value| match (columns.next(), value) {
            (Some(Column::Int(b)), Value::Int(n)) => b.append_value(n),
            (Some(Column::Flag(b)), Value::Bool(f)) => b.append_value(f),
            (Some(Column::Text(b)), value) => {
                buf.clear();
                match value {
                    Value::Decimal(d) => d.append_to(&mut buf),
                    Value::Int(n) => buf.extend_from_slice(n.to_string().as_bytes()),
                    Value::Bool(f) => buf.extend_from_slice(if f { b"true" } else { b"false" }),
                    Value::Text(t) => buf.extend_from_slice(t.as_bytes()),
                    Value::Uuid(u) => crate::tick::append_uuid(&u, &mut buf),
                }
                b.append_value(std::str::from_utf8(&buf).unwrap_or_default());
            }
            (Some(Column::Int(b)), _) => b.append_value(0),
            (Some(Column::Flag(b)), _) => b.append_value(false),
            (None, _) => {}
        });
        self.rows += 1;
    }

    /// Hands the collected rows to the writer once there are enough (or `now`).
    pub fn settle(&mut self, now: bool) -> io::Result<()> {
        if self.rows == 0 || (!now && self.rows < BATCH_ROWS) {
            return Ok(());
        }
        self.write_batch()
    }

    fn write_batch(&mut self) -> io::Result<()> {
        let mut arrays: Vec<ArrayRef> = self.columns.iter_mut().map(Column::finish).collect();
        self.rows = 0;
        let mut schema = self.schema.clone();
        if self.with_decimal {
            let common = COMMON_FIELDS.len();
            let scales = self
                .decimal
                .get_or_insert_with(|| decimal::scales(&schema, common, &arrays))
                .clone();
            schema = decimal::widen_schema(&schema, &scales);
            arrays = decimal::widen_arrays(arrays, &scales);
        }
        let batch = RecordBatch::try_new(schema.clone(), arrays)
            .map_err(|e| named(&self.path, io::Error::other(e)))?;
        let path = self.path.clone();
        self.writer_for(schema)?
            .write(&batch)
            .map_err(|e| named(&path, parquet_io(e)))
    }

    /// Bytes on disk so far (row groups already flushed).
    pub fn bytes_on_disk(&self) -> u64 {
        self.writer.as_ref().map_or(0, |w| w.bytes_written() as u64)
    }

    /// Writes the last rows, the last row group and the footer; returns the file, not synced.
    pub fn finish(mut self) -> io::Result<File> {
        if self.rows > 0 || self.writer.is_none() {
            self.write_batch()?;
        }
        let path = self.path.clone();
        self.writer
            .take()
            .expect("made by the last batch")
            .into_inner()
            .map_err(|e| named(&path, parquet_io(e)))
    }
}

/// An I/O error inside a Parquet error keeps its kind (a full disk stays `StorageFull`).
fn parquet_io(e: parquet::errors::ParquetError) -> io::Error {
    match e {
        parquet::errors::ParquetError::External(inner) => match inner.downcast::<io::Error>() {
            Ok(io) => *io,
            Err(other) => io::Error::other(other),
        },
        other => io::Error::other(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::Venue;
    use crate::sink::ndjson::tests::samples;
    use crate::tick::{Decimal, Symbol, TickData, Trade, TradeId};
    use arrow_array::{Array, StringArray};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    /// Bybit linear's first trade in `tests/data/bybit/linear_publicTrade.jsonl`.
    const UUID: &str = "2a74ac78-691c-5b54-9dbe-5aafe8364627";

    fn uuid_trade() -> Tick {
        Tick {
            exchange: Venue::BybitLinear,
            symbol: Symbol::parse("BTCUSDT").unwrap(),
            recv_ns: 2,
            exchange_ns: 0,
            data: TickData::Trade(Trade {
                event_time: 1_750_000_000_000,
                trade_time: 1_750_000_000_000,
                trade_id: TradeId::Uuid {
                    bytes: crate::tick::parse_uuid(UUID).unwrap(),
                    run: 0,
                },
                price: Decimal::parse("109378.90").unwrap(),
                qty: Decimal::parse("0.001").unwrap(),
                buyer_is_maker: false,
            }),
        }
    }

    #[test]
    fn every_channel_s_column_kinds_match_its_values() {
        let mut ticks = samples();
        ticks.push(uuid_trade());
        for tick in ticks {
            let kinds = kinds(tick.channel());
            let mut i = 0;
            tick.data.visit(|name, value| {
                // A text column takes any value as its text; the others only their own kind.
                let ok = matches!(
                    (kinds[i], value),
                    (Kind::Int, Value::Int(_)) | (Kind::Flag, Value::Bool(_)) | (Kind::Text, _)
                );
                assert!(
                    ok,
                    "{}.{name}: column kind does not fit {value:?}",
                    tick.channel()
                );
                i += 1;
            });
            assert_eq!(i, kinds.len());
        }
    }

    #[test]
    fn trade_ids_are_text_whether_integers_or_uuids() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trade.parquet");
        let int_trade = samples()
            .into_iter()
            .find(|t| t.channel() == Channel::Trade)
            .unwrap();
        let mut file = ParquetFile::create(&path, Channel::Trade, 100, false).unwrap();
        file.push(&int_trade);
        file.push(&uuid_trade());
        file.finish().unwrap();

        let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(&path).unwrap())
            .unwrap()
            .build()
            .unwrap();
        let mut ids = Vec::new();
        for batch in reader {
            let batch = batch.unwrap();
            let column = batch.column_by_name("trade_id").unwrap();
            assert_eq!(column.data_type(), &DataType::Utf8);
            let text = column.as_any().downcast_ref::<StringArray>().unwrap();
            ids.extend((0..text.len()).map(|i| text.value(i).to_owned()));
        }
        assert_eq!(ids, ["745522877", UUID]);
    }

    #[test]
    fn parquet_decimal_adds_decimal_columns_at_the_first_rows_scale() {
        use arrow_array::Decimal128Array;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trade.parquet");
        let int_trade = samples()
            .into_iter()
            .find(|t| t.channel() == Channel::Trade)
            .unwrap();
        let mut file = ParquetFile::create(&path, Channel::Trade, 100, true).unwrap();
        file.push(&int_trade);
        file.push(&uuid_trade());
        file.settle(true).unwrap();
        // A later price with more digits after the point than the first rows had.
        let mut finer = uuid_trade();
        if let TickData::Trade(t) = &mut finer.data {
            t.price = Decimal::parse("1.123456789").unwrap();
        }
        file.push(&finer);
        file.finish().unwrap();

        let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(&path).unwrap())
            .unwrap()
            .build()
            .unwrap();
        let (mut prices, mut texts) = (Vec::new(), Vec::new());
        for batch in reader {
            let batch = batch.unwrap();
            assert!(batch.column_by_name("trade_id_decimal").is_none());
            let column = batch.column_by_name("price_decimal").unwrap();
            assert_eq!(column.data_type(), &DataType::Decimal128(38, 8));
            let values = column.as_any().downcast_ref::<Decimal128Array>().unwrap();
            prices.extend((0..values.len()).map(|i| values.is_valid(i).then(|| values.value(i))));
            let text = batch.column_by_name("price").unwrap();
            let text = text.as_any().downcast_ref::<StringArray>().unwrap();
            texts.extend((0..text.len()).map(|i| text.value(i).to_owned()));
            assert!(batch.column_by_name("qty_decimal").is_some());
        }
        assert_eq!(
            prices,
            [Some(204_310_000_000), Some(10_937_890_000_000), None]
        );
        assert_eq!(
            texts,
            ["2043.10000000", "109378.90", "1.123456789"],
            "text stays exact"
        );
    }
}
