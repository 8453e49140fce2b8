//! `tandem bench` runs the reference workload through the real engine and checks every reply.

use crate::tandem;

/// Whether the PostgreSQL modes can run: a server at `TANDEM_DATABASE_URL` or the local one.
/// Without one they are skipped, except under CI, where that fails.
fn postgres_is_there() -> bool {
    if std::env::var_os("TANDEM_DATABASE_URL").is_some() {
        return true;
    }
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], 5432));
    let there = std::net::TcpStream::connect_timeout(&address, std::time::Duration::from_secs(2)).is_ok();
    assert!(there || !std::env::var("CI").is_ok_and(|v| v == "true"), "no PostgreSQL at {address}");
    if !there {
        eprintln!("skipped the postgres modes: no PostgreSQL at {address}");
    }
    there
}

#[test]
fn the_workload_runs_in_every_mode_with_no_mismatch_and_prints_the_spec_line() {
    let mut modes = vec![
        ("memory", "200"),
        ("sqlite", "20"),
        ("concurrent", "20"),
        ("http", "20"),
        ("http-concurrent", "100"),
        ("floor", "200"),
    ];
    if postgres_is_there() {
        modes.extend([("postgres", "20"), ("postgres-concurrent", "20")]);
    }
    for (mode, conversations) in modes {
        let out = tandem(&["bench", "--conversations", conversations, "--mode", mode]);
        let line = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{mode}: {line}\n{}", String::from_utf8_lossy(&out.stderr));
        let json: serde_json::Value = serde_json::from_str(line.trim()).expect("one JSON line");
        assert_eq!(json["mismatches"], 0);
        let framework = match mode {
            "floor" => "floor: hand-written Rust match state machine + regex".to_string(),
            _ => format!("tandem {} ({mode})", env!("CARGO_PKG_VERSION")),
        };
        assert_eq!(json["framework"], framework);
        assert!(json["lat_us_p50"].as_f64().is_some_and(|p50| p50 > 0.0), "{mode}: latencies below 1 µs show: {line}");
        assert_eq!(json["messages"].as_u64(), Some(conversations.parse::<u64>().unwrap() * 5));
        let keys = [
            "framework",
            "conversations",
            "messages",
            "wall_s",
            "msgs_per_s",
            "lat_us_p50",
            "lat_us_p90",
            "lat_us_p99",
            "lat_us_max",
            "rss_base_MiB",
            "rss_live_MiB",
            "rss_peak_MiB",
            "live_state_KiB_per_conv",
            "mismatches",
        ];
        let positions: Vec<usize> = keys.iter().map(|k| line.find(&format!("\"{k}\":")).expect(k)).collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "keys in the spec's order: {line}");
    }
}

#[test]
fn the_scale_run_restarts_on_the_seeded_file_and_every_timer_fires() {
    let out = tandem(&["bench", "--mode", "scale", "--conversations", "300", "--hot", "20"]);
    let line = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{line}\n{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_str(line.trim()).expect("one JSON line");
    assert_eq!(json["conversations"], 300);
    assert_eq!(json["pending_timers"], 300, "every seeded conversation waits with its timer");
    assert_eq!(json["nudged"], 20, "every hot conversation got its nudge");
    for key in ["startup_ms", "rss_started_MiB", "fire_lag_ms_p50", "fire_lag_ms_p99", "seed_s", "db_MiB"] {
        assert!(json[key].as_f64().is_some_and(|v| v >= 0.0), "{key} in {line}");
    }
}

#[test]
fn a_wrong_reply_is_counted_shown_and_fails_the_run() {
    let bench = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/support-dialogue");
    let dir = tempfile::tempdir().unwrap();
    for file in ["bot.yaml", "support.yaml"] {
        let text = std::fs::read_to_string(bench.join(file)).unwrap();
        std::fs::write(dir.path().join(file), text.replace("What is your order number?", "Your order number?"))
            .unwrap();
    }
    let bot = dir.path().to_str().unwrap();
    for mode in ["memory", "concurrent", "http", "http-concurrent"] {
        let out = tandem(&["bench", "--bot", bot, "--conversations", "7", "--mode", mode]);
        let line = String::from_utf8_lossy(&out.stdout);
        assert!(!out.status.success(), "{mode}: {line}");
        let json: serde_json::Value = serde_json::from_str(line.trim()).expect("one JSON line");
        assert_eq!(json["mismatches"], 7, "{mode}: every conversation's first reply");
        let shown = String::from_utf8_lossy(&out.stderr);
        assert_eq!(shown.matches("mismatch: conversation").count(), 3, "{mode}: the first three: {shown}");
        assert!(shown.contains(r#"got ["Hi! I'm the support bot. Your order number?"]"#), "{shown}");
    }
}
