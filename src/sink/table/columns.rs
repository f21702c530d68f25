//! The live view's columns: which value columns exist and in what order, what each
//! channel's row puts in them, how wide each has grown and which go first on a narrow
//! terminal. It writes nothing (see [`super::text`]).

use crate::tick::{Channel, Decimal, DecimalText, Symbol, TickData};

use super::GAP;
use super::text::split_point;

/// The value columns, in display order. `as usize` indexes per-column arrays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Column {
    Price,
    Qty,
    Side,
    Bid,
    BidQty,
    Ask,
    AskQty,
    ChangePct,
    Volume,
}

impl Column {
    pub(super) const ALL: [Column; 9] = [
        Column::Price,
        Column::Qty,
        Column::Side,
        Column::Bid,
        Column::BidQty,
        Column::Ask,
        Column::AskQty,
        Column::ChangePct,
        Column::Volume,
    ];

    /// The order in which columns are left out when the terminal is too narrow: what a
    /// glance at a live table needs least goes first; prices stay.
    pub(super) const DROP_ORDER: [Column; 6] = [
        Column::Volume,
        Column::ChangePct,
        Column::Side,
        Column::AskQty,
        Column::BidQty,
        Column::Qty,
    ];

    pub(super) fn label(self) -> &'static str {
        match self {
            Column::Price => "PRICE",
            Column::Qty => "QTY",
            Column::Side => "SIDE",
            Column::Bid => "BID",
            Column::BidQty => "BID QTY",
            Column::Ask => "ASK",
            Column::AskQty => "ASK QTY",
            Column::ChangePct => "CHG%",
            Column::Volume => "VOLUME",
        }
    }

    /// Prices are coloured by their move; quantities move too much to mean anything.
    pub(super) fn is_price(self) -> bool {
        matches!(self, Column::Price | Column::Bid | Column::Ask)
    }

    /// The columns `channel` fills, in display order.
    pub(super) fn of(channel: Channel) -> &'static [Column] {
        use Column::*;
        match channel {
            Channel::BookTicker | Channel::Depth | Channel::Book => &[Bid, BidQty, Ask, AskQty],
            Channel::Trade | Channel::AggTrade => &[Price, Qty, Side],
            Channel::Ticker => &[Price, Bid, Ask, ChangePct, Volume],
            Channel::Funding => &[Price],
            Channel::Liquidation => &[Price, Qty, Side],
            _ => &[Price, Volume],
        }
    }
}

/// What a row shows in one column.
pub(super) enum Cell {
    Decimal(DecimalText),
    Text(&'static str),
}

/// The value of `column` in `data`, if its channel fills that column.
pub(super) fn cell(data: &TickData, column: Column) -> Option<Cell> {
    fn d(value: &Decimal) -> Option<Cell> {
        Some(Cell::Decimal(value.to_text()))
    }
    // The buyer being the maker means the taker, who moved the market, sold.
    let side = |buyer_is_maker: bool| Some(Cell::Text(if buyer_is_maker { "sell" } else { "buy" }));
    match (data, column) {
        (TickData::BookTicker(t), Column::Bid) => d(&t.bid),
        (TickData::BookTicker(t), Column::BidQty) => d(&t.bid_qty),
        (TickData::BookTicker(t), Column::Ask) => d(&t.ask),
        (TickData::BookTicker(t), Column::AskQty) => d(&t.ask_qty),
        (TickData::Trade(t), Column::Price) => d(&t.price),
        (TickData::Trade(t), Column::Qty) => d(&t.qty),
        (TickData::Trade(t), Column::Side) => side(t.buyer_is_maker),
        (TickData::AggTrade(t), Column::Price) => d(&t.price),
        (TickData::AggTrade(t), Column::Qty) => d(&t.qty),
        (TickData::AggTrade(t), Column::Side) => side(t.buyer_is_maker),
        (TickData::Ticker(t), Column::Price) => d(&t.last),
        (TickData::Ticker(t), Column::Bid) => d(&t.bid),
        (TickData::Ticker(t), Column::Ask) => d(&t.ask),
        (TickData::Ticker(t), Column::ChangePct) => d(&t.change_pct),
        (TickData::Ticker(t), Column::Volume) => d(&t.volume),
        (TickData::Funding(t), Column::Price) => d(&t.mark_price),
        (TickData::Liquidation(t), Column::Price) => d(&t.price),
        (TickData::Liquidation(t), Column::Qty) => d(&t.qty),
        (TickData::Liquidation(t), Column::Side) => {
            Some(Cell::Text(if t.sell { "sell" } else { "buy" }))
        }
        (TickData::Kline(t), Column::Price) => d(&t.close),
        (TickData::Kline(t), Column::Volume) => d(&t.volume),
        _ => None,
    }
}

/// Column widths, grown as wider values are seen and never shrunk, so the view does not
/// jitter when a long value comes and goes.
pub(super) struct Layout {
    pub(super) symbol: usize,
    pub(super) channel: usize,
    /// Per [`Column`], the widest integer part and fraction seen.
    pub(super) fits: [Fit; Column::ALL.len()],
}

impl Default for Layout {
    fn default() -> Layout {
        Layout {
            symbol: "SYMBOL".len(),
            channel: "CHANNEL".len(),
            fits: [Fit::default(); Column::ALL.len()],
        }
    }
}

impl Layout {
    pub(super) fn fit_row(&mut self, symbol: &Symbol, channel: Channel, data: &TickData) {
        self.symbol = self.symbol.max(symbol.as_str().len());
        self.channel = self.channel.max(channel.as_str().len());
        for &column in Column::of(channel) {
            let fit = &mut self.fits[column as usize];
            match cell(data, column) {
                Some(Cell::Decimal(text)) => {
                    let (int, frac) = split_point(&text);
                    fit.int = fit.int.max(int.len());
                    fit.frac = fit.frac.max(frac.map_or(0, str::len));
                }
                Some(Cell::Text(text)) => fit.int = fit.int.max(text.len()),
                None => {}
            }
        }
    }

    pub(super) fn width(&self, column: Column) -> usize {
        column.label().len().max(self.fits[column as usize].body())
    }

    /// Unmarks `shown` columns, the least important first ([`Column::DROP_ORDER`]), until
    /// a line of the frame fits in `limit` columns. Prices are never dropped here: if even
    /// they do not fit, [`Line`] leaves out whole cells from the right.
    pub(super) fn drop_to_fit(
        &self,
        shown: &mut [bool; Column::ALL.len()],
        age_width: usize,
        limit: usize,
    ) {
        let width = |shown: &[bool; Column::ALL.len()]| {
            let values: usize = Column::ALL
                .into_iter()
                .filter(|&c| shown[c as usize])
                .map(|c| GAP + self.width(c))
                .sum();
            self.symbol + GAP + self.channel + values + GAP + age_width
        };
        for column in Column::DROP_ORDER {
            if width(shown) <= limit {
                return;
            }
            shown[column as usize] = false;
        }
    }
}

/// The widest integer part (sign included) and fraction of a decimal column.
#[derive(Clone, Copy, Default)]
pub(super) struct Fit {
    pub(super) int: usize,
    pub(super) frac: usize,
}

impl Fit {
    /// Width of the aligned values, without the header.
    pub(super) fn body(self) -> usize {
        if self.frac == 0 {
            self.int
        } else {
            self.int + 1 + self.frac
        }
    }
}
