// libpq, loaded at run time (dlopen "libpq.so.5"), so that building Arbiter needs
// only libsqlite3-dev and libssl-dev: PostgreSQL is used only when a postgres://
// URL is given, and then needs Debian's libpq5. The declarations below are the
// stable libpq C API (https://www.postgresql.org/docs/current/libpq.html) that
// Arbiter uses, typed here so no libpq header is needed at build time.
#ifndef CLIBPQ_H
#define CLIBPQ_H

#include <stddef.h>

typedef struct pg_conn PGconn;
typedef struct pg_result PGresult;

// ConnStatusType, ExecStatusType, PGTransactionStatusType (libpq-fe.h).
enum { CLIBPQ_CONNECTION_OK = 0 };
enum {
    CLIBPQ_PGRES_EMPTY_QUERY = 0, CLIBPQ_PGRES_COMMAND_OK = 1, CLIBPQ_PGRES_TUPLES_OK = 2,
    CLIBPQ_PGRES_COPY_IN = 4, CLIBPQ_PGRES_FATAL_ERROR = 7,
};
enum { CLIBPQ_PQTRANS_IDLE = 0, CLIBPQ_PQTRANS_ACTIVE = 1, CLIBPQ_PQTRANS_INTRANS = 2, CLIBPQ_PQTRANS_INERROR = 3 };
// PG_DIAG_SQLSTATE
enum { CLIBPQ_DIAG_SQLSTATE = 'C' };

/// Loads libpq once; 0 on success, else -1 with a one-line reason in `error`.
int clibpq_load(char *error, size_t error_size);

PGconn *clibpq_connectdb(const char *conninfo);
int clibpq_status(const PGconn *conn);
const char *clibpq_error_message(const PGconn *conn);
void clibpq_finish(PGconn *conn);
/* Closes and reopens the connection with the same parameters (after the server restarted). */
void clibpq_reset(PGconn *conn);
/* The type OID of a result column (20 int8, 701 float8, 17 bytea, ...). */
unsigned int clibpq_ftype(const PGresult *result, int column);
int clibpq_transaction_status(const PGconn *conn);

PGresult *clibpq_exec(PGconn *conn, const char *query);
PGresult *clibpq_prepare(PGconn *conn, const char *name, const char *query, int n_params, const unsigned int *param_types);
PGresult *clibpq_exec_prepared(PGconn *conn, const char *name, int n_params, const char *const *values,
                               const int *lengths, const int *formats, int result_format);
int clibpq_result_status(const PGresult *result);
const char *clibpq_result_error_field(const PGresult *result, int field);
const char *clibpq_result_error_message(const PGresult *result);
int clibpq_ntuples(const PGresult *result);
int clibpq_nfields(const PGresult *result);
int clibpq_getisnull(const PGresult *result, int row, int column);
const char *clibpq_getvalue(const PGresult *result, int row, int column);
int clibpq_getlength(const PGresult *result, int row, int column);
const char *clibpq_cmd_tuples(PGresult *result);
void clibpq_clear(PGresult *result);
// COPY … FROM STDIN: data in chunks, then the end (error: NULL, or why to abort), then results until NULL.
int clibpq_put_copy_data(PGconn *conn, const char *buffer, int bytes);
int clibpq_put_copy_end(PGconn *conn, const char *error);
PGresult *clibpq_get_result(PGconn *conn);

#endif
