//! The fictional companies the market lists: symbols, names, sectors, opening prices and how
//! jumpy each one is.
//!
//! Data, not code, and kept apart from the market's rules so each reads on its own. Fictional
//! on purpose: a teaching demo that showed real tickers moving at random would look like market
//! data and be wrong.

/// The sectors, as URL slugs (`sector/<slug>`).
pub const SECTORS: [&str; 5] = ["energy", "technology", "finance", "health", "consumer"];

/// The companies, nine per sector: eight listed at the open, one waiting to list.
///
/// Volatility is the largest relative move in one tick (0.004 = 0.4 %). Values from 0.2 % to
/// 1.1 % give every widget visible movement at three ticks a second without prices drifting to
/// zero or to absurd heights in an hour of running.
pub const COMPANIES: [(&str, &str, usize, f64, f64); 45] = [
    // (symbol, name, sector index, opening price, volatility per tick)
    // Energy: steady utilities and jumpier renewables; WINDR waits to list.
    ("HELIO", "Helio Power", 0, 84.20, 0.004),
    ("PETRA", "Petra Fuels", 0, 61.75, 0.003),
    ("GRIDX", "Gridworks", 0, 33.10, 0.005),
    ("TIDAL", "Tidal Turbines", 0, 18.40, 0.008),
    ("COALS", "Coalsack Mining", 0, 12.95, 0.006),
    ("VOLTA", "Volta Storage", 0, 142.00, 0.007),
    ("FLARE", "Flare Gas", 0, 27.30, 0.005),
    ("ATOMK", "Atomik Energy", 0, 98.60, 0.004),
    ("WINDR", "Windrose", 0, 22.15, 0.006),
    // Technology: the most volatile sector, so it is the one the movers widget favours.
    ("QBIT", "Qubit Labs", 1, 212.40, 0.009),
    ("NIMBU", "Nimbus Cloud", 1, 156.80, 0.006),
    ("SILIC", "Silicate Semis", 1, 88.25, 0.007),
    ("PIXEL", "Pixelforge", 1, 45.60, 0.008),
    ("CODEX", "Codex Systems", 1, 301.10, 0.005),
    ("BYTE", "Bytewise", 1, 19.85, 0.010),
    ("LUMEN", "Lumen Optics", 1, 67.40, 0.006),
    ("ROBO", "Robotix", 1, 121.30, 0.008),
    ("MESH", "Meshnet", 1, 38.90, 0.007),
    // Finance: the calmest prices, a contrast on the same page.
    ("LEDGR", "Ledger & Co", 2, 74.50, 0.003),
    ("VAULT", "Vaultline Bank", 2, 52.20, 0.003),
    ("MINT", "Mint Payments", 2, 133.70, 0.006),
    ("BOND", "Bondwell", 2, 41.05, 0.002),
    ("CRED", "Credence Insurance", 2, 66.80, 0.003),
    ("ASSET", "Assetry", 2, 210.00, 0.004),
    ("LOAN", "Loanstar", 2, 15.60, 0.007),
    ("EQUIT", "Equitas", 2, 92.35, 0.004),
    ("TALLY", "Tally Trust", 2, 28.45, 0.005),
    // Health: one very jumpy biotech (SERUM) among steady names.
    ("CURA", "Cura Pharma", 3, 118.90, 0.005),
    ("GENO", "Genomix", 3, 64.30, 0.009),
    ("VITA", "Vitalis", 3, 39.75, 0.004),
    ("MEDIX", "Medix Devices", 3, 152.60, 0.004),
    ("SERUM", "Serum Bio", 3, 23.10, 0.011),
    ("CLINI", "Clinica", 3, 57.40, 0.003),
    ("NEURO", "Neurona", 3, 81.20, 0.008),
    ("DOSE", "Dosewell", 3, 31.65, 0.006),
    ("ORTHO", "Orthos", 3, 47.90, 0.004),
    // Consumer: a spread of prices from 14 to 89, a good test of the widget's number columns.
    ("GROCR", "Grocera", 4, 35.80, 0.003),
    ("BREW", "Brewhouse", 4, 48.15, 0.004),
    ("THRED", "Threadline Apparel", 4, 26.40, 0.006),
    ("HOMEY", "Homey Goods", 4, 72.90, 0.004),
    ("SNACK", "Snackwell", 4, 19.30, 0.005),
    ("RIDE", "Ride Motors", 4, 88.70, 0.007),
    ("PLAY", "Playtime Toys", 4, 14.25, 0.008),
    ("DINE", "Dine Out", 4, 42.60, 0.005),
    ("GLOW", "Glow Cosmetics", 4, 55.35, 0.005),
];

/// Companies per sector listed at the open; the rest wait on the bench.
pub const LISTED_PER_SECTOR: usize = 8;
