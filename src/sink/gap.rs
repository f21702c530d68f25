//! Gap records: how an interruption of a stream is written.
//!
//! NDJSON carries gaps inline as `{"type":"gap",...}` lines (ticks have no `type` field);
//! CSV keeps one header shape per file, so gaps go to a side file `PATH.gaps.csv`. This
//! module owns both byte layouts; it does no I/O.

use crate::tick::{GAP_FIELDS, Gap};

/// Appends one NDJSON gap line.
pub fn ndjson_line(gap: &Gap, out: &mut Vec<u8>) {
    // No escaping needed: every text field is a validated symbol or one of our literals.
    let mut num = itoa::Buffer::new();
    out.extend_from_slice(b"{\"type\":\"gap\",\"exchange\":\"");
    out.extend_from_slice(gap.exchange.as_bytes());
    out.extend_from_slice(b"\",\"symbol\":\"");
    out.extend_from_slice(gap.symbol.as_bytes());
    out.extend_from_slice(b"\",\"channel\":\"");
    out.extend_from_slice(gap.channel.as_str().as_bytes());
    out.extend_from_slice(b"\",\"from_ns\":");
    out.extend_from_slice(num.format(gap.from_ns).as_bytes());
    out.extend_from_slice(b",\"to_ns\":");
    out.extend_from_slice(num.format(gap.to_ns).as_bytes());
    out.extend_from_slice(b",\"reason\":\"");
    out.extend_from_slice(gap.reason.as_bytes());
    out.extend_from_slice(b"\"}\n");
}

/// Appends the header row of a CSV gap file.
pub fn csv_header(out: &mut Vec<u8>) {
    out.extend_from_slice(GAP_FIELDS.join(",").as_bytes());
    out.push(b'\n');
}

/// Appends one CSV gap row (no field can hold a comma, quote or newline).
pub fn csv_row(gap: &Gap, out: &mut Vec<u8>) {
    let mut num = itoa::Buffer::new();
    for (i, field) in [
        gap.exchange.name(),
        gap.symbol.as_str(),
        gap.channel.as_str(),
        num.format(gap.from_ns),
    ]
    .into_iter()
    .enumerate()
    {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(field.as_bytes());
    }
    out.push(b',');
    out.extend_from_slice(num.format(gap.to_ns).as_bytes());
    out.push(b',');
    out.extend_from_slice(gap.reason.as_bytes());
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tick::{Channel, Symbol};

    fn gap() -> Gap {
        Gap {
            exchange: crate::exchange::Venue::Binance,
            symbol: Symbol::parse("BTCUSDT").unwrap(),
            channel: Channel::BookTicker,
            from_ns: 1,
            to_ns: 22,
            reason: "disconnected",
        }
    }

    #[test]
    fn ndjson_gap_line_parses_with_type_first() {
        let mut out = Vec::new();
        ndjson_line(&gap(), &mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("{\"type\":\"gap\","), "{text}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["symbol"], "BTCUSDT");
        assert_eq!(v["channel"], "bookTicker");
        assert_eq!(
            (v["from_ns"].as_u64(), v["to_ns"].as_u64()),
            (Some(1), Some(22))
        );
        assert_eq!(v["reason"], "disconnected");
    }

    #[test]
    fn csv_gap_rows_match_their_header() {
        let mut out = Vec::new();
        csv_header(&mut out);
        csv_row(&gap(), &mut out);
        let mut reader = ::csv::Reader::from_reader(out.as_slice());
        assert_eq!(
            reader.headers().unwrap().iter().collect::<Vec<_>>(),
            GAP_FIELDS
        );
        let row = reader.records().next().unwrap().unwrap();
        assert_eq!(
            row.iter().collect::<Vec<_>>(),
            [
                "binance",
                "BTCUSDT",
                "bookTicker",
                "1",
                "22",
                "disconnected"
            ]
        );
    }
}
