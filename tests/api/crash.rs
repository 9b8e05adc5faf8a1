//! kill -9 durability in CI: three short cycles of `rappel bench --crash` against the debug binary (the long run
//! is `rappel bench --crash --cycles 50 --writers 8`).

use rappel::config::Settings;
use rappel::tools::crash::{run, CrashOptions};

#[actix_web::test]
async fn acknowledged_writes_survive_kill_9_and_the_queue_keeps_its_invariants() {
    let binary = env!("CARGO_BIN_EXE_rappel").into();
    let mut options = CrashOptions::new(binary, &Settings::default(), 3, 4);
    options.kill_after_ms = (500, 1500);
    let report = run(&options).await.expect("the crash test runs");
    report.print();
    assert_eq!(report.cycles, 3);
    assert!(report.acknowledged_total() > 0, "the writers wrote");
    assert!(
        report.passed(),
        "lost {:?}, violations {:?}, unexpected {:?}",
        report.lost,
        report.violations,
        report.unexpected
    );
}
