/*
 * store_commit.c - leader-based group commit.
 *
 * Every write is a struct store_op queued under qlock.  A caller finding no
 * leader becomes one: it takes up to STORE_BATCH_MAX ops off the queue, runs
 * them in one write transaction, commits once (one fsync for the batch) and
 * wakes each op's thread with its own result and message.  An op that fails
 * must be undone alone: the batch first runs flat, every op straight in the
 * write transaction, which is the common case and costs nothing more; only
 * when an op of a batch of several fails is the transaction aborted and the
 * batch run again with each op in a nested transaction of its own (LMDB
 * allocates about 3 MB of page lists for each nested transaction, which with
 * pcad's fixed mmap threshold are an mmap and munmap per write).  So an op's
 * run function may run more than once (map growth re-runs batches too): it
 * must compute its result from the transaction and its arg alone.
 * Ops queued meanwhile form the next batch, led by the first of their
 * threads to wake (with fsync on, after a short wait for it to fill: see
 * gather()).  The detail message is thread-local (common/err.c), so the
 * leader copies it into the op and the waiter sets it again in its own
 * thread.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "store_int.h"

enum batch_end {
	BATCH_DONE,   /* every op has its result */
	BATCH_GROW,   /* map full: grow the map and run the batch again */
	BATCH_ADOPT,  /* another process grew the map: adopt, run again */
	BATCH_NESTED, /* an op failed: run again, each op nested */
};

enum op_end {
	OP_NEXT,  /* result recorded; go on with the next op */
	OP_GROW,  /* map full and it can grow */
	OP_FATAL, /* the parent transaction is unusable */
};

static void
op_set(struct store_op *op, pca_err e, const char *msg)
{
	op->err = e;
	(void)snprintf(op->msg, sizeof(op->msg), "%s",
	    msg[0] != '\0' ? msg : pca_strerror(e));
}

static void
batch_fail(struct store_op *batch, pca_err e)
{
	char msg[STORE_MSG_MAX];
	struct store_op *op;

	(void)snprintf(msg, sizeof(msg), "%s", pca_err_msg());
	for (op = batch; op != NULL; op = op->next)
		op_set(op, e, msg);
}

/*
 * Runs op in txn itself (flat) or in a transaction nested in it.  Flat, a
 * failure leaves txn holding part of the op: OP_FATAL then, and the caller
 * decides (a lone op's error is its result; a batch runs again nested).
 */
static enum op_end
op_run(struct store *s, MDB_txn *parent, struct store_op *op, int can_grow,
    int nested)
{
	MDB_txn *txn = parent;
	pca_err e;
	int rc;

	if (nested && (rc = mdb_txn_begin(s->env, parent, 0, &txn)) != 0) {
		op_set(op, store_mdb_err(rc, "starting a store write"),
		    pca_err_msg());
		return OP_FATAL;
	}
	pca_err_clear();
	e = op->run(s, txn, op->arg);
	if (e != PCA_OK) {
		if (nested)
			mdb_txn_abort(txn);
		if (e == PCA_EDBFULL && can_grow)
			return OP_GROW;
		if (e == PCA_EDBFULL)
			e = store_full_err(s);
		op_set(op, e, pca_err_msg());
		return nested ? OP_NEXT : OP_FATAL;
	}
	/* a nested commit merges into the parent and allocates no pages */
	if (nested && (rc = mdb_txn_commit(txn)) != 0) {
		op_set(op, store_mdb_err(rc, "committing a store write"),
		    pca_err_msg());
		return OP_FATAL;
	}
	op_set(op, PCA_OK, "");
	return OP_NEXT;
}

static enum batch_end
batch_try(struct store *s, struct store_op *batch, int nested)
{
	MDB_txn *txn = NULL;
	struct store_op *op;
	int rc, can_grow = s->map_cur < s->map_max;
	enum op_end r;

	if ((rc = mdb_txn_begin(s->env, NULL, 0, &txn)) != 0) {
		if (rc == MDB_MAP_RESIZED)
			return BATCH_ADOPT;
		batch_fail(batch, store_mdb_err(rc, "starting a store write"));
		return BATCH_DONE;
	}
	for (op = batch; op != NULL; op = op->next) {
		if ((r = op_run(s, txn, op, can_grow, nested)) == OP_NEXT)
			continue;
		mdb_txn_abort(txn);
		if (r == OP_GROW)
			return BATCH_GROW;
		if (!nested && batch->next != NULL)
			return BATCH_NESTED; /* undo the failed op alone */
		pca_err_set(op->err, "%s", op->msg);
		batch_fail(batch, op->err);
		return BATCH_DONE;
	}
	rc = mdb_txn_commit(txn);
	if (rc == MDB_MAP_FULL && can_grow)
		return BATCH_GROW;
	if (rc == MDB_MAP_FULL)
		batch_fail(batch, store_full_err(s));
	else if (rc != 0)
		batch_fail(batch, store_commit_err(s, rc));
	return BATCH_DONE;
}

/*
 * Runs a batch to completion.  Each BATCH_GROW enlarges the map by one step
 * toward map_max, after which ops fail with PCA_EDBFULL instead, so the
 * loop ends; an adoption is retried a few times only.
 */
static void
batch_run(struct store *s, struct store_op *batch)
{
	enum batch_end r;
	pca_err e;
	int adopts = 0, nested = 0;

	for (;;) {
		if ((e = store_lock_shared(s)) != PCA_OK) {
			batch_fail(batch, e);
			return;
		}
		r = batch_try(s, batch, nested);
		store_unlock_shared(s);
		if (r == BATCH_DONE)
			return;
		if (r == BATCH_NESTED) {
			nested = 1;
			s->nested_runs++;
			continue;
		}
		if (r == BATCH_ADOPT && ++adopts > 3) {
			batch_fail(batch,
			    pca_err_set(PCA_EBUSY,
				"the store "
				"map keeps being resized by another process"));
			return;
		}
		e = r == BATCH_GROW ? store_map_grow(s) : store_map_adopt(s);
		if (e != PCA_OK) {
			batch_fail(batch, e);
			return;
		}
	}
}

/* Takes up to STORE_BATCH_MAX ops off the queue (qlock held). */
static struct store_op *
queue_take(struct store *s)
{
	struct store_op *batch = s->qhead, *last = s->qhead;
	int n;

	for (n = 1; n < STORE_BATCH_MAX && last->next != NULL; n++)
		last = last->next;
	s->qlen -= (size_t)n;
	s->last_batch = (size_t)n;
	s->qhead = last->next;
	if (s->qhead == NULL)
		s->qtail = NULL;
	last->next = NULL;
	return batch;
}

/*
 * With fsync on, a batch is worth filling: the threads just woken from the
 * previous commit need a moment to queue their next write, and without a
 * short wait they would miss this batch and the threads would settle into
 * two half-size cohorts.  The leader waits (at most STORE_GATHER_US) for as
 * many ops as the previous batch had; when the load drops, the batches and
 * so the target shrink, and the wait stops.
 */
static void
gather(struct store *s)
{
	struct timespec ts;

	if (!s->gather || s->qlen >= s->last_batch)
		return;
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_nsec += STORE_GATHER_US * 1000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	s->gathering = 1;
	while (s->qlen < s->last_batch &&
	       pthread_cond_timedwait(&s->gcond, &s->qlock, &ts) == 0)
		;
	s->gathering = 0;
}

/* Leads one batch; called and returns with qlock held. */
static void
lead(struct store *s)
{
	struct store_op *batch, *op, *next;

	s->leader = 1;
	gather(s);
	batch = queue_take(s);
	(void)pthread_mutex_unlock(&s->qlock);
	batch_run(s, batch);
	(void)pthread_mutex_lock(&s->qlock);
	store_health_note(s, batch);
	/* once done is set and qlock dropped, a waiter may free its op */
	for (op = batch; op != NULL; op = next) {
		next = op->next;
		op->done = 1;
		(void)pthread_cond_signal(&op->cond);
	}
	s->leader = 0;
	if (s->qhead != NULL)
		(void)pthread_cond_signal(&s->qhead->cond);
}

pca_err
store_submit(struct store *s, pca_err (*run)(struct store *, MDB_txn *, void *),
    void *arg)
{
	struct store_op op;

	if (s->read_only)
		return pca_err_set(PCA_EINVAL, "store opened read-only");
	if (store_in_read(s))
		return pca_err_set(PCA_EINVAL, "store write from inside a "
					       "store iteration callback");
	memset(&op, 0, sizeof(op));
	op.run = run;
	op.arg = arg;
	if (pthread_cond_init(&op.cond, NULL) != 0)
		return pca_err_set(PCA_ENOMEM, "cannot create a condition "
					       "variable");
	(void)pthread_mutex_lock(&s->qlock);
	if (s->qtail != NULL)
		s->qtail->next = &op;
	else
		s->qhead = &op;
	s->qtail = &op;
	s->qlen++;
	if (s->gathering && s->qlen >= s->last_batch)
		(void)pthread_cond_signal(&s->gcond);
	while (!op.done) {
		if (!s->leader)
			lead(s);
		else
			(void)pthread_cond_wait(&op.cond, &s->qlock);
	}
	(void)pthread_mutex_unlock(&s->qlock);
	(void)pthread_cond_destroy(&op.cond);
	if (op.err != PCA_OK)
		return pca_err_set(op.err, "%s", op.msg);
	return PCA_OK;
}
