//! Tile and entry-bundle paths: `tile/<L>/<N>[.p/<W>]` and `tile/entries/<N>[.p/<W>]`.
//!
//! Parsing accepts only the canonical form, so that each resource has exactly one name: no
//! leading zeros, no `x000` leading groups, three-digit groups, widths 1 to 255 for partial
//! tiles, no `.p/256`.

use crate::TILE_WIDTH;

/// A path that is not a canonical tile or entry-bundle path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PathError {
    /// The path does not start with `tile/`.
    #[error("path {0:?} does not start with tile/")]
    Prefix(String),
    /// The level is not a decimal number from 0 to 63 without leading zeros.
    #[error("tile level {0:?} is not a decimal from 0 to 63 without leading zeros")]
    Level(String),
    /// The index is not canonical `x`-prefixed three-digit groups.
    #[error("tile index {0:?} is not canonical zero-padded three-digit groups")]
    Index(String),
    /// The partial width is not a decimal from 1 to 255 without leading zeros.
    #[error("partial tile width {0:?} is not a decimal from 1 to 255 without leading zeros")]
    Width(String),
}

/// A Merkle tree tile: level, index within the level, and width (256 for a full tile).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileId {
    /// Tile level: the tile holds hashes of tree level `8 · level`.
    pub level: u8,
    /// Index of the tile within its level.
    pub index: u64,
    /// Number of hashes, 1 to 256.
    pub width: u16,
}

/// An entry bundle: the entries of the level-0 tile with the same index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntryBundleId {
    /// Index of the bundle (leaf index / 256).
    pub index: u64,
    /// Number of entries, 1 to 256.
    pub width: u16,
}

/// Encodes a tile index as zero-padded three-digit groups, all but the last prefixed with `x`
/// (`1234067` → `x001/x234/067`).
pub fn encode_index(index: u64) -> String {
    let mut groups = Vec::new();
    let mut n = index;
    loop {
        groups.push(n % 1000);
        n /= 1000;
        if n == 0 {
            break;
        }
    }
    let last = groups.len() - 1;
    groups
        .iter()
        .rev()
        .enumerate()
        .map(|(i, g)| {
            if i == last {
                format!("{g:03}")
            } else {
                format!("x{g:03}")
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Parses the canonical index encoding of [`encode_index`].
pub fn parse_index(text: &str) -> Result<u64, PathError> {
    let bad = || PathError::Index(text.to_owned());
    let groups: Vec<&str> = text.split('/').collect();
    let last = groups.len() - 1;
    let mut value: u64 = 0;
    for (i, group) in groups.iter().enumerate() {
        let digits = if i == last {
            Some(*group)
        } else {
            group.strip_prefix('x')
        };
        let digits = digits
            .filter(|d| d.len() == 3 && d.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(bad)?;
        if i == 0 && i != last && digits == "000" {
            return Err(bad());
        }
        let g: u64 = digits.parse().map_err(|_| bad())?;
        value = value
            .checked_mul(1000)
            .and_then(|v| v.checked_add(g))
            .ok_or_else(bad)?;
    }
    Ok(value)
}

fn width_suffix(width: u16) -> String {
    if u64::from(width) >= TILE_WIDTH {
        String::new()
    } else {
        format!(".p/{width}")
    }
}

/// Splits `<N>[.p/<W>]` into the index and width (256 when no suffix).
fn parse_index_and_width(text: &str) -> Result<(u64, u16), PathError> {
    let (index, width) = match text.split_once(".p/") {
        Some((index, w)) => {
            let ok = !w.is_empty()
                && !w.starts_with('0')
                && w.len() <= 3
                && w.bytes().all(|b| b.is_ascii_digit());
            let width: u16 = w
                .parse()
                .ok()
                .filter(|&w| ok && (1..=255).contains(&w))
                .ok_or_else(|| PathError::Width(w.to_owned()))?;
            (index, width)
        }
        None => (text, 256),
    };
    Ok((parse_index(index)?, width))
}

impl TileId {
    /// Whether the tile holds 256 hashes.
    pub fn is_full(&self) -> bool {
        u64::from(self.width) >= TILE_WIDTH
    }

    /// The path relative to the log prefix, e.g. `tile/0/x001/x234/067.p/5`.
    pub fn path(&self) -> String {
        format!(
            "tile/{}/{}{}",
            self.level,
            encode_index(self.index),
            width_suffix(self.width)
        )
    }

    /// Parses a canonical tile path (relative to the log prefix). Entry-bundle paths are
    /// rejected here; see [`EntryBundleId::parse_path`].
    pub fn parse_path(path: &str) -> Result<Self, PathError> {
        let rest = path
            .strip_prefix("tile/")
            .ok_or_else(|| PathError::Prefix(path.to_owned()))?;
        let (level_text, rest) = rest
            .split_once('/')
            .ok_or_else(|| PathError::Level(rest.to_owned()))?;
        let level_ok = !level_text.is_empty()
            && level_text.len() <= 2
            && level_text.bytes().all(|b| b.is_ascii_digit())
            && (level_text == "0" || !level_text.starts_with('0'));
        let level: u8 = level_text
            .parse()
            .ok()
            .filter(|&l| level_ok && l <= 63)
            .ok_or_else(|| PathError::Level(level_text.to_owned()))?;
        let (index, width) = parse_index_and_width(rest)?;
        Ok(TileId {
            level,
            index,
            width,
        })
    }

    /// Number of bytes the tile's contents must have.
    pub fn byte_len(&self) -> usize {
        usize::from(self.width) * 32
    }
}

impl EntryBundleId {
    /// The path relative to the log prefix, e.g. `tile/entries/x001/067.p/3`.
    pub fn path(&self) -> String {
        format!(
            "tile/entries/{}{}",
            encode_index(self.index),
            width_suffix(self.width)
        )
    }

    /// Parses a canonical entry-bundle path (relative to the log prefix).
    pub fn parse_path(path: &str) -> Result<Self, PathError> {
        let rest = path
            .strip_prefix("tile/entries/")
            .ok_or_else(|| PathError::Prefix(path.to_owned()))?;
        let (index, width) = parse_index_and_width(rest)?;
        Ok(EntryBundleId { index, width })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_index_example() {
        assert_eq!(encode_index(1234067), "x001/x234/067");
        assert_eq!(parse_index("x001/x234/067").unwrap(), 1234067);
        assert_eq!(encode_index(0), "000");
        assert_eq!(encode_index(u64::MAX), "x018/x446/x744/x073/x709/x551/615");
        assert_eq!(
            parse_index("x018/x446/x744/x073/x709/x551/615").unwrap(),
            u64::MAX
        );
    }

    #[test]
    fn non_canonical_paths_are_rejected() {
        for bad in [
            "tile/0/1",
            "tile/0/0001",
            "tile/0/x000/001",
            "tile/0/001/002",
            "tile/0/x1/002",
            "tile/00/001",
            "tile/01/001",
            "tile/64/001",
            "tile/-1/001",
            "tile/0/001.p/0",
            "tile/0/001.p/256",
            "tile/0/001.p/05",
            "tile/0/001.p/",
            "tile/0/001.p/1/",
            "tile/0/001/",
            "tile//001",
            "tile/0/",
            "tile/0/x018/x446/x744/x073/x709/x551/616",
            "tiles/0/001",
            "tile/entries/001",
            "tile/0/+01",
        ] {
            assert!(TileId::parse_path(bad).is_err(), "{bad} accepted");
        }
        for bad in ["tile/entries/1", "tile/entries/001.p/256", "tile/0/001"] {
            assert!(EntryBundleId::parse_path(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn c2sp_and_go_paths() {
        let t = TileId::parse_path("tile/0/x001/x234/067").unwrap();
        assert_eq!(
            t,
            TileId {
                level: 0,
                index: 1234067,
                width: 256
            }
        );
        let t = TileId::parse_path("tile/5/x123/x456/078.p/2").unwrap();
        assert_eq!(
            t,
            TileId {
                level: 5,
                index: 123456078,
                width: 2
            }
        );
        let b = EntryBundleId::parse_path("tile/entries/x003/x057/500.p/255").unwrap();
        assert_eq!(
            b,
            EntryBundleId {
                index: 3057500,
                width: 255
            }
        );
        assert_eq!(b.path(), "tile/entries/x003/x057/500.p/255");
    }
}
