/*
 * kc_clock.h: the one monotonic clock. Every window the agent measures
 * (reachability, retries, back-off, log repeats) is on this clock, so a
 * wall-clock step (NTP, a VM resume setting the date) never opens or closes
 * one. Time is still a parameter of the pure modules: only the edges read it.
 */
#ifndef KC_CLOCK_H
#define KC_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC in milliseconds. */
int64_t kc_clock_ms(void);

/* CLOCK_MONOTONIC in microseconds (systemd's MONOTONIC_USEC). */
uint64_t kc_clock_us(void);

/* CLOCK_REALTIME in nanoseconds: only for names that must differ across
 * restarts (Event names), never for a duration. */
uint64_t kc_wall_ns(void);

#endif
