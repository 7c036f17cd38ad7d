/* The epoll loop. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "evloop.h"
#include "util.h"

struct slot {
	int fd;
	const char *name;
	kn_fd_cb cb;
	void *arg;
	bool dead;
};

struct kn_loop {
	int epfd;
	bool stop;
	struct slot **slots;
	size_t nslots, cap;
};

struct kn_timer {
	struct kn_loop *l;
	int fd;
	bool armed;
	kn_timer_cb cb;
	void *arg;
};

uint64_t
kn_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct kn_loop *
kn_loop_new(void)
{
	struct kn_loop *l = xcalloc(1, sizeof(*l));

	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		free(l);
		return NULL;
	}
	return l;
}

void
kn_loop_free(struct kn_loop *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->nslots; i++)
		free(l->slots[i]);
	free(l->slots);
	close(l->epfd);
	free(l);
}

static struct slot *
find_slot(struct kn_loop *l, int fd)
{
	for (size_t i = 0; i < l->nslots; i++)
		if (l->slots[i]->fd == fd && !l->slots[i]->dead)
			return l->slots[i];
	return NULL;
}

int
kn_loop_add_fd(struct kn_loop *l, int fd, uint32_t events, const char *name, kn_fd_cb cb, void *arg)
{
	struct slot *s = xcalloc(1, sizeof(*s));
	struct epoll_event ev = {.events = events};

	s->fd = fd;
	s->name = name;
	s->cb = cb;
	s->arg = arg;
	ev.data.ptr = s;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int r = -errno;

		free(s);
		return r;
	}
	*VEC_PUSH(l->slots, l->nslots, l->cap) = s;
	return 0;
}

int
kn_loop_mod_fd(struct kn_loop *l, int fd, uint32_t events)
{
	struct slot *s = find_slot(l, fd);
	struct epoll_event ev = {.events = events};

	if (!s)
		return -ENOENT;
	ev.data.ptr = s;
	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

void
kn_loop_del_fd(struct kn_loop *l, int fd)
{
	struct slot *s = find_slot(l, fd);

	if (!s)
		return;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	/* The slot may be in the batch epoll_wait just returned: mark it
	 * dead and reap it after the batch. */
	s->dead = true;
}

static void
reap(struct kn_loop *l)
{
	size_t j = 0;

	for (size_t i = 0; i < l->nslots; i++) {
		if (l->slots[i]->dead)
			free(l->slots[i]);
		else
			l->slots[j++] = l->slots[i];
	}
	l->nslots = j;
}

static void
timer_fired(void *arg, int fd, uint32_t events)
{
	struct kn_timer *t = arg;
	uint64_t n;

	(void)events;
	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return;
	t->armed = false;
	t->cb(t->arg);
}

struct kn_timer *
kn_timer_new(struct kn_loop *l, const char *name, kn_timer_cb cb, void *arg)
{
	struct kn_timer *t = xcalloc(1, sizeof(*t));

	t->l = l;
	t->cb = cb;
	t->arg = arg;
	t->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (t->fd < 0 || kn_loop_add_fd(l, t->fd, EPOLLIN, name, timer_fired, t) < 0) {
		if (t->fd >= 0)
			close(t->fd);
		free(t);
		return NULL;
	}
	return t;
}

void
kn_timer_free(struct kn_timer *t)
{
	if (!t)
		return;
	kn_loop_del_fd(t->l, t->fd);
	close(t->fd);
	free(t);
}

void
kn_timer_arm(struct kn_timer *t, uint64_t ms)
{
	struct itimerspec its;

	memset(&its, 0, sizeof(its));
	/* 0 would disarm: fire as soon as possible instead. */
	if (ms == 0)
		its.it_value.tv_nsec = 1;
	else {
		its.it_value.tv_sec = (time_t)(ms / 1000);
		its.it_value.tv_nsec = (long)(ms % 1000) * 1000000;
	}
	timerfd_settime(t->fd, 0, &its, NULL);
	t->armed = true;
}

void
kn_timer_disarm(struct kn_timer *t)
{
	struct itimerspec its;

	memset(&its, 0, sizeof(its));
	timerfd_settime(t->fd, 0, &its, NULL);
	t->armed = false;
}

bool
kn_timer_armed(const struct kn_timer *t)
{
	return t->armed;
}

/* Events handled per epoll_wait; more simply wait for the next round. */
#define LOOP_BATCH 64

int
kn_loop_run(struct kn_loop *l)
{
	struct epoll_event evs[LOOP_BATCH];

	l->stop = false;
	while (!l->stop) {
		int n = epoll_wait(l->epfd, evs, LOOP_BATCH, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n && !l->stop; i++) {
			struct slot *s = evs[i].data.ptr;

			if (!s->dead)
				s->cb(s->arg, s->fd, evs[i].events);
		}
		reap(l);
	}
	return 0;
}

void
kn_loop_stop(struct kn_loop *l)
{
	l->stop = true;
}
