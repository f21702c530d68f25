//! One Parquet file of one channel's rows (arrow-rs `parquet`), zstd compressed.
//!
//! The columns are `schema`'s: per tick channel its fields as in NDJSON, per `depth` one
//! row per level change and per `book` flat level columns, as in CSV. Decimals are their
//! exact text (UTF8), `trade_id` is UTF8 for every venue (Binance's integers as their
//! digits, Bybit derivatives' UUIDs as their canonical text). Rows collect in arrow
//! builders and go to the writer a batch at a time; the writer keeps the current row
//! group's encoded, compressed pages in memory until `--row-group-rows` rows (or the
//! file's end). The footer is written by [`ParquetFile::finish`]; until then the file is a
//! `.partial` (a file without footer is never named `.parquet`).

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

mod decimal;
mod schema;

use self::schema::Builder;
use super::output::named;
use crate::book::Level;
use crate::book::row::{BookData, BookRecord};
use crate::tick::{COMMON_FIELDS, Channel, Tick, Value};

/// The default of `--row-group-rows`.
pub const DEFAULT_ROW_GROUP_ROWS: usize = 1_000_000;

/// Rows collected before they are handed to the writer as one record batch (so the arrow
/// builders hold about 1 MiB of a `bookTicker` file's rows, however far behind the sink is).
const BATCH_ROWS: usize = 8192;

/// ... or once the builders hold this many bytes (wide `book` rows), checked every
/// [`BATCH_CHECK`] rows.
const BATCH_BYTES: usize = 1 << 20;
const BATCH_CHECK: usize = 256;

/// A row group ends at `--row-group-rows` rows or when its encoded pages in memory reach
/// this many bytes (about 180 000 `bookTicker` rows), whichever comes first: the writer
/// holds the whole group until it is written.
pub const ROW_GROUP_BYTES: usize = 2 << 20;

/// The most a column's dictionary grows before the column falls back to plain pages for
/// the rest of the row group, and the size of an uncompressed data page.
const PAGE_BYTES: usize = 64 << 10;

/// The zstd level of the pages. Each column keeps its own compression context, so level 1
/// (small tables) rather than 3 saves about 4 MiB over a file's columns, and the files of
/// the flood bench come out no larger (pages are small and dictionary encoded).
const ZSTD_LEVEL: i32 = 1;

/// How a run's Parquet files are written (`--row-group-rows`, `--parquet-decimal`,
/// `--book-levels`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParquetSpec {
    /// Rows per row group.
    pub row_group_rows: usize,
    /// DECIMAL columns beside the decimal text.
    pub decimal: bool,
    /// Levels a side in `book` files.
    pub book_levels: usize,
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
    columns: Vec<Builder>,
    rows: usize,
    /// The row count at which the builders' bytes are checked next.
    check_at: usize,
    /// Scratch for a value's text.
    text: Vec<u8>,
    path: PathBuf,
}

impl ParquetFile {
    /// Creates `path` (which must not exist) for `channel`'s rows.
    pub fn create(path: &Path, channel: Channel, spec: &ParquetSpec) -> io::Result<ParquetFile> {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| named(path, e))?;
        let cols = schema::columns(channel, spec.book_levels);
        let level = ZstdLevel::try_new(ZSTD_LEVEL).map_err(|e| named(path, io::Error::other(e)))?;
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(level))
            .set_max_row_group_row_count(Some(spec.row_group_rows))
            .set_max_row_group_bytes(Some(ROW_GROUP_BYTES))
            .set_dictionary_page_size_limit(PAGE_BYTES)
            .set_data_page_size_limit(PAGE_BYTES)
            .build();
        let mut file = ParquetFile {
            writer: None,
            file: Some(file),
            props,
            schema: schema::schema(&cols),
            decimal: None,
            with_decimal: spec.decimal,
            columns: cols.iter().map(|c| Builder::new(c.kind)).collect(),
            rows: 0,
            check_at: BATCH_CHECK,
            text: Vec::with_capacity(64),
            path: path.to_owned(),
        };
        if !spec.decimal {
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

    /// The common columns of a row.
    fn common(
        &mut self,
        exchange: &str,
        symbol: &str,
        channel: Channel,
        recv: u64,
        ex: Option<u64>,
    ) {
        let c = &mut self.columns;
        c[0].text(Some(exchange));
        c[1].text(Some(symbol));
        c[2].text(Some(channel.as_str()));
        c[3].int(Some(recv));
        c[4].int(ex);
    }

    /// Adds one row, handing a full batch to the writer. A tick of another channel than
    /// the file's is refused by the caller.
    pub fn push(&mut self, tick: &Tick) -> io::Result<()> {
        self.common(
            tick.exchange.name(),
            tick.symbol.as_str(),
            tick.channel(),
            tick.recv_ns,
            tick.exchange_ns(),
        );
        let mut columns = self.columns[COMMON_FIELDS.len()..].iter_mut();
        let buf = &mut self.text;
        tick.data.visit(|_, value| match (columns.next(), value) {
            (Some(Builder::Int(b)), Value::Int(n)) => b.append_value(n),
            (Some(Builder::Flag(b)), Value::Bool(f)) => b.append_value(f),
            (Some(Builder::Text(b)), value) => {
                buf.clear();
                match value {
                    Value::Decimal(d) => d.append_to(buf),
                    Value::Int(n) => buf.extend_from_slice(n.to_string().as_bytes()),
                    Value::Bool(f) => buf.extend_from_slice(if f { b"true" } else { b"false" }),
                    Value::Text(t) => buf.extend_from_slice(t.as_bytes()),
                    Value::Uuid(u) => crate::tick::append_uuid(&u, buf),
                }
                b.append_value(std::str::from_utf8(buf).unwrap_or_default());
            }
            (Some(Builder::Int(b)), _) => b.append_value(0),
            (Some(Builder::Flag(b)), _) => b.append_value(false),
            (None, _) => {}
        });
        self.rows += 1;
        self.settle(false)
    }

    /// Adds a `depth` row (one Parquet row per level change) or a `book` row, handing a
    /// full batch to the writer. A record of another channel than the file's is refused by
    /// the caller.
    pub fn push_book(&mut self, record: &BookRecord) -> io::Result<()> {
        let head = |file: &mut ParquetFile| {
            file.common(
                record.exchange.name(),
                record.symbol.as_str(),
                record.channel(),
                record.recv_ns,
                Some(record.exchange_ns()),
            );
        };
        match &record.data {
            BookData::Depth(row) => {
                let levels = row
                    .bids
                    .iter()
                    .map(|l| ("bid", Some(l)))
                    .chain(row.asks.iter().map(|l| ("ask", Some(l))));
                let empty = row.bids.is_empty() && row.asks.is_empty();
                let none = empty.then_some(("", None));
                for (side, level) in levels.chain(none) {
                    head(self);
                    let c = &mut self.columns[COMMON_FIELDS.len()..];
                    c[0].flag(row.is_snapshot);
                    c[1].int(row.first_update_id);
                    c[2].int(Some(row.update_id));
                    c[3].int(row.prev_update_id);
                    c[4].text(level.is_some().then_some(side));
                    self.level(COMMON_FIELDS.len() + 5, level);
                    self.rows += 1;
                }
            }
            BookData::Book(line) => {
                head(self);
                let at = COMMON_FIELDS.len();
                self.columns[at].int(Some(line.update_id));
                let depth = (self.columns.len() - at - 1) / 4;
                for (s, levels) in [&line.levels.bids, &line.levels.asks]
                    .into_iter()
                    .enumerate()
                {
                    for i in 0..depth {
                        self.level(at + 1 + (s * depth + i) * 2, levels.get(i));
                    }
                }
                self.rows += 1;
            }
        }
        self.settle(false)
    }

    /// A level's price and qty text into columns `at` and `at + 1` (nulls for none).
    fn level(&mut self, at: usize, level: Option<&Level>) {
        match level {
            Some(level) => {
                for (k, value) in [level.price, level.qty].iter().enumerate() {
                    self.text.clear();
                    value.append_to(&mut self.text);
                    let text = std::str::from_utf8(&self.text).unwrap_or_default();
                    self.columns[at + k].text(Some(text));
                }
            }
            None => {
                self.columns[at].text(None);
                self.columns[at + 1].text(None);
            }
        }
    }

    /// Hands the collected rows to the writer once there are enough (or `now`).
    pub fn settle(&mut self, now: bool) -> io::Result<()> {
        let mut enough = self.rows >= BATCH_ROWS;
        if !enough && self.rows >= self.check_at {
            self.check_at = self.rows + BATCH_CHECK;
            enough = self.columns.iter().map(Builder::bytes).sum::<usize>() >= BATCH_BYTES;
        }
        if self.rows == 0 || !(now || enough) {
            return Ok(());
        }
        self.write_batch()
    }

    fn write_batch(&mut self) -> io::Result<()> {
        let mut arrays: Vec<ArrayRef> = self.columns.iter_mut().map(Builder::finish).collect();
        self.rows = 0;
        self.check_at = BATCH_CHECK;
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
    use arrow_schema::DataType;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    fn spec(decimal: bool) -> ParquetSpec {
        ParquetSpec {
            row_group_rows: 100,
            decimal,
            book_levels: 2,
        }
    }

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
            let kinds: Vec<_> = tick
                .channel()
                .fields()
                .iter()
                .map(|name| schema::tick_kind(name))
                .collect();
            let mut i = 0;
            tick.data.visit(|name, value| {
                // A text column takes any value as its text; the others only their own kind.
                let ok = matches!(
                    (kinds[i], value),
                    (schema::Kind::Int, Value::Int(_))
                        | (schema::Kind::Flag, Value::Bool(_))
                        | (schema::Kind::Text, _)
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
        let mut file = ParquetFile::create(&path, Channel::Trade, &spec(false)).unwrap();
        file.push(&int_trade).unwrap();
        file.push(&uuid_trade()).unwrap();
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
        let mut file = ParquetFile::create(&path, Channel::Trade, &spec(true)).unwrap();
        file.push(&int_trade).unwrap();
        file.push(&uuid_trade()).unwrap();
        file.settle(true).unwrap();
        // A later price with more digits after the point than the first rows had.
        let mut finer = uuid_trade();
        if let TickData::Trade(t) = &mut finer.data {
            t.price = Decimal::parse("1.123456789").unwrap();
        }
        file.push(&finer).unwrap();
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
