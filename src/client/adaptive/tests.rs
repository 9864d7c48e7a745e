//! The rate control's decisions, each against a history built by hand.

use super::*;

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

#[test]
fn auto_doubles_while_accepted_until_the_first_429() {
    let t0 = Instant::now();
    let mut control = RateControl::new(Rate::Auto, t0);
    control.accepted(t0 + SLOW_START_DOUBLING, true);
    control.accepted(t0 + SLOW_START_DOUBLING * 2, true);
    let rate = control.rate().unwrap();
    assert!((rate - 40.0).abs() < 0.01, "{rate}");
    assert_eq!(control.settled(t0 + secs(0.1)), Some(rate));
}

#[test]
fn a_429_sets_the_rate_just_under_what_the_tenant_accepted() {
    let t0 = Instant::now();
    let mut control = RateControl::new(Rate::Fixed(200.0), t0);
    for i in 1..=300 {
        control.accepted(t0 + secs(i as f64 / 100.0), true);
    }
    assert!(control.throttled(t0 + secs(3.0), t0 + secs(2.99), secs(1.0)));
    let rate = control.rate().unwrap();
    assert!((rate - 100.0 * MARGIN).abs() < 1.0, "{rate}");
}

#[test]
fn paused_time_does_not_count_against_the_estimate() {
    let t0 = Instant::now();
    let mut control = RateControl::new(Rate::Fixed(200.0), t0);
    for i in 1..=100 {
        control.accepted(t0 + secs(i as f64 / 100.0), true);
    }
    control.paused(t0 + secs(1.0), secs(1.0), true);
    for i in 1..=100 {
        control.accepted(t0 + secs(2.0 + i as f64 / 100.0), true);
    }
    // 200 accepted in 3 s, 1 of them paused: the tenant takes 100/s.
    control.throttled(t0 + secs(3.0), t0 + secs(3.0), secs(1.0));
    let rate = control.rate().unwrap();
    assert!((rate - 100.0 * MARGIN).abs() < 1.0, "{rate}");
}

#[test]
fn one_cut_per_congestion_event() {
    let t0 = Instant::now();
    let mut control = RateControl::new(Rate::Fixed(100.0), t0);
    assert!(control.throttled(t0 + secs(0.1), t0, secs(1.0)));
    assert!(!control.throttled(t0 + secs(0.2), t0 + secs(0.05), secs(1.0)));
    let halved = 100.0 * (1.0 - FIXED_HEADROOM) / 2.0;
    assert!((control.rate().unwrap() - halved).abs() < 0.01);
    assert!(control.throttled(t0 + secs(0.3), t0 + secs(0.25), secs(1.0)));
    assert!(control.rate().unwrap() < halved);
}

#[test]
fn a_fixed_rate_is_paced_just_under_it_and_reported_as_the_rate_to_pass() {
    let t0 = Instant::now();
    let mut control = RateControl::new(Rate::Fixed(100.0), t0);
    assert_eq!(control.rate(), Some(98.0));
    for i in 1..=300 {
        control.accepted(t0 + secs(i as f64 / 98.0), true);
    }
    control.throttled(t0 + secs(3.1), t0 + secs(3.1), secs(1.0));
    let paced = control.rate().unwrap();
    let to_pass = control.settled(t0 + secs(3.1)).unwrap();
    assert!((to_pass * (1.0 - FIXED_HEADROOM) - paced).abs() < 0.01);
}

#[test]
fn a_cheap_first_429_without_a_sample_takes_3_percent_off_not_half() {
    let t0 = Instant::now();
    let mut cheap = RateControl::new(Rate::Fixed(200.0), t0);
    let mut costly = RateControl::new(Rate::Fixed(200.0), t0);
    cheap.throttled(t0 + secs(0.1), t0, secs(0.01));
    costly.throttled(t0 + secs(0.1), t0, secs(1.0));
    assert!((cheap.rate().unwrap() - 196.0 * MARGIN).abs() < 0.01);
    assert!((costly.rate().unwrap() - 98.0).abs() < 0.01);
}

#[test]
fn a_429_at_the_level_cuts_deeper_the_more_it_costs() {
    let t0 = Instant::now();
    let level_after = |cost: f64| {
        let mut control = RateControl::new(Rate::Fixed(100.0), t0);
        for i in 1..=300 {
            control.accepted(t0 + secs(i as f64 / 100.0), true);
        }
        control.throttled(t0 + secs(3.0), t0 + secs(3.0), secs(0.01));
        let level = control.rate().unwrap();
        for i in 1..=100 {
            control.accepted(t0 + secs(3.0 + i as f64 / level), false);
        }
        control.throttled(t0 + secs(4.1), t0 + secs(4.1), secs(cost));
        control.rate().unwrap() / level
    };
    assert!((level_after(0.01) - MARGIN).abs() < 0.001);
    assert!((level_after(0.5) - 0.95).abs() < 0.001);
    assert!((level_after(1.0) - RECUT).abs() < 0.001);
    assert!((level_after(5.0) - RECUT).abs() < 0.001);
}

/// A fixed window of 100 a second, met at 294/s and then at half that:
/// each window fills early and the rest is a wait to its end. Measured
/// in sending time the tenant takes what it is sent; by the wall clock,
/// 100 a second.
#[test]
fn a_window_quota_is_measured_by_the_wall_clock_when_a_level_fails() {
    let t0 = Instant::now();
    let mut control = RateControl::new(Rate::Fixed(300.0), t0);
    for window in 0..=2 {
        let level = control.rate().unwrap();
        let start = window as f64;
        for i in 0..100 {
            control.accepted(t0 + secs(start + i as f64 / level), true);
        }
        let full = start + 100.0 / level;
        control.throttled(t0 + secs(full), t0 + secs(full), secs(start + 1.0 - full));
        control.paused(t0 + secs(full), secs(start + 1.0 - full), true);
    }
    let rate = control.rate().unwrap();
    assert!(rate > 90.0 && rate <= 100.0, "{rate}");
}

#[test]
fn the_plateau_holds_longer_after_a_costly_pause_then_probes_convexly() {
    let t0 = Instant::now();
    let mut cheap = RateControl::new(Rate::Fixed(200.0), t0);
    let mut costly = RateControl::new(Rate::Fixed(200.0), t0);
    for control in [&mut cheap, &mut costly] {
        for i in 1..=200 {
            control.accepted(t0 + secs(i as f64 / 100.0), false);
        }
    }
    cheap.throttled(t0 + secs(2.0), t0 + secs(2.0), secs(0.01));
    costly.throttled(t0 + secs(2.0), t0 + secs(2.0), secs(1.0));
    cheap.paused(t0 + secs(2.0), secs(0.01), true);
    costly.paused(t0 + secs(2.0), secs(1.0), true);
    let level = cheap.rate().unwrap();
    for control in [&mut cheap, &mut costly] {
        control.accepted(t0 + secs(4.0), true);
    }
    assert!(cheap.rate().unwrap() > level * 1.01);
    // A second's pause is won back by a 3% margin in 33 s.
    costly.accepted(t0 + secs(35.0), true);
    assert_eq!(costly.rate(), Some(level));
    costly.accepted(t0 + secs(37.0), true);
    let early = costly.rate().unwrap();
    costly.accepted(t0 + secs(39.0), true);
    let later = costly.rate().unwrap();
    assert!(later - early > early - level, "{level} {early} {later}");
}

#[test]
fn a_rate_nobody_waits_for_does_not_grow() {
    let t0 = Instant::now();
    let mut control = RateControl::new(Rate::Auto, t0);
    control.accepted(t0 + secs(5.0), false);
    assert_eq!(control.rate(), Some(AUTO_START));
}

#[test]
fn an_unlimited_run_adopts_a_rate_at_its_first_429() {
    let t0 = Instant::now();
    let mut control = RateControl::new(Rate::Unlimited, t0);
    assert_eq!(control.settled(t0), None);
    for i in 1..=50 {
        control.accepted(t0 + secs(i as f64 / 50.0), false);
    }
    control.throttled(t0 + secs(1.0), t0 + secs(1.0), secs(1.0));
    let rate = control.rate().unwrap();
    assert!((rate - 50.0 * MARGIN).abs() < 0.01, "{rate}");
    let to_pass = control.settled(t0 + secs(1.0)).unwrap();
    assert!((to_pass * (1.0 - FIXED_HEADROOM) - rate).abs() < 0.01);
}

#[test]
fn the_settled_rate_is_never_above_what_the_tenant_accepted() {
    let t0 = Instant::now();
    let mut control = RateControl::new(Rate::Auto, t0);
    for i in 1..=100 {
        control.accepted(t0 + secs(i as f64 / 50.0), true);
    }
    assert!(control.rate().unwrap() > 100.0);
    let settled = control.settled(t0 + secs(2.0)).unwrap();
    assert!((settled - 50.0).abs() < 0.01, "{settled}");
}

#[test]
fn a_fixed_run_without_429s_reports_nothing() {
    let t0 = Instant::now();
    let mut control = RateControl::new(Rate::Fixed(20.0), t0);
    control.accepted(t0 + secs(1.0), true);
    assert_eq!(control.settled(t0 + secs(1.0)), None);
    assert!(control.throttled(t0 + secs(2.0), t0 + secs(2.0), secs(1.0)));
    assert!(control.rate().unwrap() >= FLOOR);
}

/// A quota of 100 halves under a rate of 98: the tenant now takes one
/// request in two, and each refusal is cheap. A streak of such 429s that
/// began at the level counts what the tenant took meanwhile, so the rate
/// goes under 50 in a few tenths of a second instead of 3% per 429.
#[test]
fn a_streak_of_429s_at_the_level_measures_what_the_tenant_takes() {
    let t0 = Instant::now();
    let mut control = RateControl::new(Rate::Fixed(100.0), t0);
    for i in 1..=294 {
        control.accepted(t0 + secs(i as f64 / 98.0), true);
    }
    let mut throttled = 0;
    while control.rate().unwrap() > 50.0 && throttled < 30 {
        let at = 3.0 + throttled as f64 * 0.02;
        control.accepted(t0 + secs(at), true);
        let refused = t0 + secs(at + 0.01);
        control.throttled(refused, refused, secs(0.01));
        throttled += 1;
    }
    let rate = control.rate().unwrap();
    // 3% a 429 would take 22 of them to get there.
    assert!(throttled <= 12, "{rate} after {throttled} 429s");
    assert!(rate >= 45.0, "{rate}");
}

/// Slow start refused at 100 a second after a burst allowance carried it
/// there, or at the quota itself: its measure lands near half of it either
/// way, and a costly 429 would hold that for half a minute. A quick probe
/// climbs back toward the refused rate, and holding it without a 429 makes
/// it the level.
#[test]
fn a_level_far_under_the_rate_slow_start_was_refused_at_is_probed_quickly() {
    let t0 = Instant::now();
    let mut control = RateControl::new(Rate::Auto, t0);
    let mut t = 0.0;
    while control.rate().unwrap() < 100.0 {
        t += 1.0 / control.rate().unwrap();
        control.accepted(t0 + secs(t), true);
    }
    let refused_at = control.rate().unwrap();
    control.throttled(t0 + secs(t), t0 + secs(t), secs(1.0));
    control.paused(t0 + secs(t), secs(1.0), true);
    let level = control.rate().unwrap();
    assert!(level < refused_at * 0.7, "{level} {refused_at}");
    let resumed = t + 1.0;
    t = resumed;
    while t < resumed + 5.0 {
        t += 1.0 / control.rate().unwrap();
        control.accepted(t0 + secs(t), true);
    }
    let rate = control.rate().unwrap();
    let expected = refused_at * MARGIN * MARGIN;
    assert!((rate - expected).abs() < 1.0, "{rate} {expected}");
    let settled = control.settled(t0 + secs(t)).unwrap();
    assert!(
        settled * (1.0 - FIXED_HEADROOM) >= expected - 1.0,
        "{settled}"
    );
}

#[test]
fn the_quick_probe_aims_under_the_rate_the_refused_request_was_sent_at() {
    let t0 = Instant::now();
    let mut control = RateControl::new(Rate::Auto, t0);
    let mut t = 0.0;
    while t < 1.0 {
        t += 1.0 / control.rate().unwrap();
        control.accepted(t0 + secs(t), true);
    }
    // The refused request left a 100 ms round trip ago; the ramp has grown
    // by a third since.
    let reached = control.rate().unwrap();
    let sent_at = reached / 2f64.powf(0.1 / SLOW_START_DOUBLING.as_secs_f64());
    control.throttled(t0 + secs(t), t0 + secs(t - 0.1), secs(1.0));
    let bound = control.bound.expect("a level far under the rate refused");
    assert!(
        (bound - sent_at * MARGIN * MARGIN).abs() < 0.01 * sent_at,
        "{bound} {sent_at} {reached}"
    );
}
