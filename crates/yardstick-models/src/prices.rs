//! API prices per token, from an editable CSV table (`prices/api_prices.csv` ships with
//! the providers' published prices for a few ChatGPT and GPT-4 models, dated).

use crate::ModelError;
use std::path::Path;

/// The price of one model's tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct Price {
    /// The model id the row is for.
    pub model: String,
    /// US dollars per million prompt tokens.
    pub input_per_million: f64,
    /// US dollars per million completion tokens.
    pub output_per_million: f64,
    /// When the price was read from the provider (`2024-08`).
    pub as_of: String,
}

impl Price {
    /// The cost in US dollars of `prompt` and `completion` tokens.
    pub fn cost(&self, prompt: u64, completion: u64) -> f64 {
        (prompt as f64 * self.input_per_million + completion as f64 * self.output_per_million) / 1e6
    }
}

/// The table shipped with yardstick.
const SHIPPED: &str = include_str!("../../../prices/api_prices.csv");

/// A price table: one row per model.
#[derive(Debug, Clone, Default)]
pub struct PriceTable {
    prices: Vec<Price>,
}

impl PriceTable {
    /// The table that ships with yardstick.
    pub fn shipped() -> Self {
        Self::parse(SHIPPED, "prices/api_prices.csv").unwrap_or_default()
    }

    /// A table from a CSV file with the shipped table's columns
    /// (`provider,model,input_usd_per_million_tokens,output_usd_per_million_tokens,as_of,source`).
    pub fn load(path: &Path) -> Result<Self, ModelError> {
        let text = std::fs::read_to_string(path).map_err(|source| ModelError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    fn parse(text: &str, name: &str) -> Result<Self, ModelError> {
        let mut prices = Vec::new();
        for (number, line) in text.lines().enumerate().skip(1) {
            if line.trim().is_empty() {
                continue;
            }
            let fields: Vec<&str> = line.splitn(6, ',').map(str::trim).collect();
            let bad = |what: &str| {
                ModelError::BadRequest(format!(
                    "{name}:{}: {what}; the columns are provider,model,input_usd_per_million_tokens,output_usd_per_million_tokens,as_of,source",
                    number + 1
                ))
            };
            if fields.len() < 5 {
                return Err(bad("too few columns"));
            }
            let number_at = |i: usize, column: &str| {
                fields[i]
                    .parse::<f64>()
                    .map_err(|_| bad(&format!("{column} is not a number")))
            };
            prices.push(Price {
                model: fields[1].to_owned(),
                input_per_million: number_at(2, "input_usd_per_million_tokens")?,
                output_per_million: number_at(3, "output_usd_per_million_tokens")?,
                as_of: fields[4].to_owned(),
            });
        }
        Ok(Self { prices })
    }

    /// The price of `model`: its own row, else the longest row name it starts with
    /// (`gpt-4o-mini-2024-07-18` is priced as `gpt-4o-mini`).
    pub fn find(&self, model: &str) -> Option<&Price> {
        self.prices.iter().find(|p| p.model == model).or_else(|| {
            self.prices
                .iter()
                .filter(|p| model.starts_with(&p.model))
                .max_by_key(|p| p.model.len())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_table_prices_chatgpt() {
        let table = PriceTable::shipped();
        let price = table.find("gpt-3.5-turbo").unwrap();
        assert_eq!(price.as_of, "2024-08");
        assert!((price.cost(1_000_000, 1_000_000) - 2.0).abs() < 1e-12);
        assert_eq!(
            table.find("gpt-4o-mini-2024-07-18").unwrap().model,
            "gpt-4o-mini"
        );
        assert!(table.find("llama-3-70b").is_none());
    }

    #[test]
    fn a_malformed_row_names_its_line_and_column() {
        let error = PriceTable::parse("header\nopenai,m,cheap,1,2024,x\n", "p.csv").unwrap_err();
        assert!(
            error
                .to_string()
                .contains("p.csv:2: input_usd_per_million_tokens is not a number"),
            "{error}"
        );
    }
}
