// SPDX-License-Identifier: MIT
/*
 * Eventfds the device reads: the program signals one and the function does
 * something (unmask INTx, take a register write).  pci_irq.c and pci.c
 * register them here; this file owns the thread that waits for them.
 *
 * One thread per function, made with its first watch and joined at the
 * last close.  It sleeps in epoll_wait; a wake-up empties the eventfd's
 * counter without blocking and calls the watch's action once.  An action
 * takes the lock its owner guards the watch with and does nothing once
 * the owner has retired the watch (under that lock), so after the
 * retiring call returns the action has no effect.
 *
 * Memory: only the thread frees a watch, after taking it out of epoll, so
 * an event already fetched for a retired watch still finds it intact.
 * Retiring never waits for the thread, so owners may retire under
 * reg_lock or irq_lock, which actions take.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include "vfio/pci.h"

#define EVENTS_PER_WAKE 16

/* Empty @fd's counter; never blocks, whatever the file's O_NONBLOCK says. */
static void drain(int fd)
{
	uint64_t count;
	struct iovec iov = { &count, sizeof(count) };
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (preadv2(fd, &iov, 1, -1, RWF_NOWAIT) >= 0 || errno == EAGAIN)
		return;
	/* A kernel without RWF_NOWAIT on eventfds: look before reading. */
	if (poll(&p, 1, 0) == 1 && (p.revents & POLLIN))
		(void)!read(fd, &count, sizeof(count));
}

/* Everything on @list leaves epoll, closes and goes. */
static void free_list(struct vfio_pci_watcher *wr, struct vfio_pci_watch *list)
{
	while (list) {
		struct vfio_pci_watch *next = list->next;

		epoll_ctl(wr->epfd, EPOLL_CTL_DEL, list->fd, NULL);
		close(list->fd);
		free(list);
		list = next;
	}
}

static void *watch_thread(void *arg)
{
	struct vfio_pci_watcher *wr = arg;
	struct epoll_event ev[EVENTS_PER_WAKE];
	bool stop = false;

	while (!stop) {
		struct vfio_pci_watch *gone;
		int n = epoll_wait(wr->epfd, ev, EVENTS_PER_WAKE, -1);

		for (int i = 0; i < n; i++) {
			struct vfio_pci_watch *w = ev[i].data.ptr;

			if (!w) {
				drain(wr->wakefd);
				continue;
			}
			drain(w->fd);
			w->fire(w);
		}
		pthread_mutex_lock(&wr->lock);
		gone = wr->retired;
		wr->retired = NULL;
		stop = wr->stopping;
		pthread_mutex_unlock(&wr->lock);
		free_list(wr, gone);
	}
	return NULL;
}

static void wake(struct vfio_pci_watcher *wr)
{
	uint64_t one = 1;

	/* A full counter is a wake-up already pending. */
	(void)!write(wr->wakefd, &one, sizeof(one));
}

/* The thread and its descriptors; wr->lock held. */
static int start_locked(struct vfio_pci_watcher *wr)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	sigset_t all, old;
	int rc;

	wr->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (wr->epfd < 0)
		return -errno;
	wr->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (wr->wakefd < 0) {
		rc = -errno;
		goto err_close_ep;
	}
	if (epoll_ctl(wr->epfd, EPOLL_CTL_ADD, wr->wakefd, &ev)) {
		rc = -errno;
		goto err_close_wake;
	}
	/* The program's signals are not ours to take. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = -pthread_create(&wr->thread, NULL, watch_thread, wr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		goto err_close_wake;
	wr->stopping = false;
	wr->running = true;
	return 0;

err_close_wake:
	close(wr->wakefd);
err_close_ep:
	close(wr->epfd);
	wr->epfd = wr->wakefd = -1;
	return rc;
}

void vfio_pci_watcher_init(struct vfio_pci_watcher *wr)
{
	memset(wr, 0, sizeof(*wr));
	pthread_mutex_init(&wr->lock, NULL);
	wr->epfd = wr->wakefd = -1;
}

int vfio_pci_watch_add(struct vfio_pci_watcher *wr, struct vfio_pci_watch *w)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = w };
	int rc = 0;

	pthread_mutex_lock(&wr->lock);
	if (!wr->running)
		rc = start_locked(wr);
	if (!rc && epoll_ctl(wr->epfd, EPOLL_CTL_ADD, w->fd, &ev))
		rc = -errno;
	if (!rc) {
		w->next = wr->live;
		wr->live = w;
	}
	pthread_mutex_unlock(&wr->lock);
	return rc;
}

void vfio_pci_watch_retire(struct vfio_pci_watcher *wr, struct vfio_pci_watch *w)
{
	struct vfio_pci_watch **pp;

	pthread_mutex_lock(&wr->lock);
	for (pp = &wr->live; *pp && *pp != w; pp = &(*pp)->next)
		;
	w->retired = true;
	if (*pp) {
		*pp = w->next;
		w->next = wr->retired;
		wr->retired = w;
		wake(wr);
	}
	pthread_mutex_unlock(&wr->lock);
}

void vfio_pci_watcher_stop(struct vfio_pci_watcher *wr)
{
	struct vfio_pci_watch *left;

	pthread_mutex_lock(&wr->lock);
	if (!wr->running) {
		pthread_mutex_unlock(&wr->lock);
		return;
	}
	wr->stopping = true;
	wake(wr);
	pthread_mutex_unlock(&wr->lock);
	pthread_join(wr->thread, NULL);

	/* Owners retired every watch before stopping; anything left goes too. */
	pthread_mutex_lock(&wr->lock);
	left = wr->live;
	wr->live = NULL;
	free_list(wr, wr->retired);
	wr->retired = NULL;
	free_list(wr, left);
	close(wr->wakefd);
	close(wr->epfd);
	wr->epfd = wr->wakefd = -1;
	wr->running = false;
	pthread_mutex_unlock(&wr->lock);
}

void vfio_pci_watcher_destroy(struct vfio_pci_watcher *wr)
{
	vfio_pci_watcher_stop(wr);
	pthread_mutex_destroy(&wr->lock);
}
