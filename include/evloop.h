/* One thread, one epoll loop: every file descriptor of the daemon
 * (inotify, netlink, signalfd, timerfds, the control socket, curl's
 * sockets) is a slot with a callback.  Timers are timerfds. */
#ifndef KN_EVLOOP_H
#define KN_EVLOOP_H

#include <stdbool.h>
#include <stdint.h>

struct kn_loop;
struct kn_timer;

/* events: EPOLLIN/EPOLLOUT bits as epoll gives them. */
typedef void (*kn_fd_cb)(void *arg, int fd, uint32_t events);
typedef void (*kn_timer_cb)(void *arg);

struct kn_loop *kn_loop_new(void);
void kn_loop_free(struct kn_loop *l);

/* name is for debugging ("inotify", "control").  0 or -errno. */
int kn_loop_add_fd(struct kn_loop *l, int fd, uint32_t events, const char *name, kn_fd_cb cb,
		   void *arg);
int kn_loop_mod_fd(struct kn_loop *l, int fd, uint32_t events);
void kn_loop_del_fd(struct kn_loop *l, int fd);

/* A one-shot monotonic timer, disarmed until kn_timer_arm. */
struct kn_timer *kn_timer_new(struct kn_loop *l, const char *name, kn_timer_cb cb, void *arg);
void kn_timer_free(struct kn_timer *t);
/* Arms (or re-arms) the timer to fire once after ms milliseconds. */
void kn_timer_arm(struct kn_timer *t, uint64_t ms);
void kn_timer_disarm(struct kn_timer *t);
bool kn_timer_armed(const struct kn_timer *t);

/* Runs until kn_loop_stop.  Returns 0, or -errno if epoll fails. */
int kn_loop_run(struct kn_loop *l);
void kn_loop_stop(struct kn_loop *l);

/* CLOCK_MONOTONIC in milliseconds. */
uint64_t kn_now_ms(void);

#endif
