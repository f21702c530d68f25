//! `--parquet-decimal`: beside each decimal text column (`price`, `qty`, ...) a Parquet
//! DECIMAL column `NAME_decimal` (precision 38), at the scale of the file's first batch of
//! rows: the most digits after the point any of them has. A later value that needs more
//! digits after the point (or more than 38 in all, or is not plain decimal text) is null
//! there; its text column always holds it exactly.

use std::sync::Arc;

use arrow_array::{Array, ArrayRef, Decimal128Array, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};

/// The precision of every DECIMAL column (the most an `i128` holds).
const PRECISION: u8 = 38;

/// Whether a channel field holds decimal text (not an id or a word such as a side).
pub(super) fn is_decimal(name: &str) -> bool {
    !matches!(name, "trade_id" | "side")
}

/// The scale of each decimal text column (by index into `arrays`), from these rows.
pub(super) fn scales(
    schema: &Schema,
    decimal_from: usize,
    arrays: &[ArrayRef],
) -> Vec<(usize, i8)> {
    schema
        .fields()
        .iter()
        .enumerate()
        .skip(decimal_from)
        .filter(|(_, f)| f.data_type() == &DataType::Utf8 && is_decimal(f.name()))
        .map(|(i, _)| {
            let texts = arrays[i].as_any().downcast_ref::<StringArray>();
            let scale = texts.map_or(0, |t| {
                (0..t.len())
                    .filter(|&j| t.is_valid(j))
                    .filter_map(|j| t.value(j).split_once('.').map(|(_, f)| f.len()))
                    .max()
                    .unwrap_or(0)
            });
            (i, scale.min(usize::from(PRECISION)) as i8)
        })
        .collect()
}

/// `schema` with a `NAME_decimal` field after each text column of `scales`.
pub(super) fn widen_schema(schema: &Schema, scales: &[(usize, i8)]) -> SchemaRef {
    let mut fields = Vec::new();
    for (i, field) in schema.fields().iter().enumerate() {
        fields.push(field.as_ref().clone());
        if let Some((_, scale)) = scales.iter().find(|(at, _)| *at == i) {
            fields.push(Field::new(
                format!("{}_decimal", field.name()),
                DataType::Decimal128(PRECISION, *scale),
                true,
            ));
        }
    }
    Arc::new(Schema::new(fields))
}

/// `arrays` with the DECIMAL column of each text column of `scales` after it.
pub(super) fn widen_arrays(arrays: Vec<ArrayRef>, scales: &[(usize, i8)]) -> Vec<ArrayRef> {
    let mut out = Vec::with_capacity(arrays.len() + scales.len());
    for (i, array) in arrays.into_iter().enumerate() {
        let scale = scales.iter().find(|(at, _)| *at == i).map(|(_, s)| *s);
        let decimal = scale.map(|scale| {
            let texts = array.as_any().downcast_ref::<StringArray>();
            let values: Vec<Option<i128>> = (0..array.len())
                .map(|j| texts.and_then(|t| fixed(t.value(j), scale as u32)))
                .collect();
            Arc::new(
                Decimal128Array::from(values)
                    .with_precision_and_scale(PRECISION, scale)
                    .expect("precision and scale are in range"),
            ) as ArrayRef
        });
        out.push(array);
        out.extend(decimal);
    }
    out
}

/// `text` as an integer of `scale` digits after the point, if it is plain decimal text
/// that fits (digits beyond the scale must be zeros) within [`PRECISION`] digits.
pub(super) fn fixed(text: &str, scale: u32) -> Option<i128> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let (kept, extra) = frac.split_at(frac.len().min(scale as usize));
    if !extra.bytes().all(|b| b == b'0') {
        return None;
    }
    let mut value: i128 = 0;
    let mut count = 0;
    for b in int.bytes().chain(kept.bytes()) {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(i128::from(b - b'0'))?;
        count += usize::from(value != 0);
    }
    for _ in kept.len()..scale as usize {
        value = value.checked_mul(10)?;
    }
    if value >= 10i128.pow(u32::from(PRECISION)) || count > usize::from(PRECISION) {
        return None;
    }
    Some(if negative { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_text_becomes_an_integer_at_the_scale_when_it_fits() {
        assert_eq!(fixed("61837.63000000", 8), Some(6_183_763_000_000));
        assert_eq!(fixed("61837.63", 8), Some(6_183_763_000_000));
        assert_eq!(fixed("-0.0094", 4), Some(-94));
        assert_eq!(fixed("10", 2), Some(1000));
        assert_eq!(fixed("0.123", 2), None, "more digits than the scale");
        assert_eq!(fixed("0.120", 2), Some(12), "trailing zeros fit");
        assert_eq!(fixed("1e-8", 8), None);
        assert_eq!(fixed("", 0), None);
        assert_eq!(fixed("-", 0), None);
        assert_eq!(fixed(&"9".repeat(39), 0), None, "beyond 38 digits");
    }
}
