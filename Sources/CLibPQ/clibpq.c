#include "clibpq.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

static struct {
    PGconn *(*PQconnectdb)(const char *);
    int (*PQstatus)(const PGconn *);
    char *(*PQerrorMessage)(const PGconn *);
    void (*PQfinish)(PGconn *);
    void (*PQreset)(PGconn *);
    unsigned int (*PQftype)(const PGresult *, int);
    int (*PQtransactionStatus)(const PGconn *);
    PGresult *(*PQexec)(PGconn *, const char *);
    PGresult *(*PQprepare)(PGconn *, const char *, const char *, int, const unsigned int *);
    PGresult *(*PQexecPrepared)(PGconn *, const char *, int, const char *const *, const int *, const int *, int);
    int (*PQresultStatus)(const PGresult *);
    char *(*PQresultErrorField)(const PGresult *, int);
    char *(*PQresultErrorMessage)(const PGresult *);
    int (*PQntuples)(const PGresult *);
    int (*PQnfields)(const PGresult *);
    int (*PQgetisnull)(const PGresult *, int, int);
    char *(*PQgetvalue)(const PGresult *, int, int);
    int (*PQgetlength)(const PGresult *, int, int);
    char *(*PQcmdTuples)(PGresult *);
    void (*PQclear)(PGresult *);
    int (*PQputCopyData)(PGconn *, const char *, int);
    int (*PQputCopyEnd)(PGconn *, const char *);
    PGresult *(*PQgetResult)(PGconn *);
} api;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char load_error[256];
static int loaded = -1;

#define LOAD(name)                                                                        \
    do {                                                                                  \
        *(void **)(&api.name) = dlsym(handle, #name);                                     \
        if (!api.name) {                                                                  \
            snprintf(load_error, sizeof load_error, "libpq.so.5 has no %s", #name);       \
            return;                                                                       \
        }                                                                                 \
    } while (0)

static void load(void) {
    void *handle = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        snprintf(load_error, sizeof load_error,
                 "cannot load libpq.so.5 (install Debian's libpq5 to use a postgres:// database): %s", dlerror());
        return;
    }
    LOAD(PQconnectdb); LOAD(PQstatus); LOAD(PQerrorMessage); LOAD(PQfinish); LOAD(PQreset); LOAD(PQftype); LOAD(PQtransactionStatus);
    LOAD(PQexec); LOAD(PQprepare); LOAD(PQexecPrepared); LOAD(PQresultStatus); LOAD(PQresultErrorField);
    LOAD(PQresultErrorMessage); LOAD(PQntuples); LOAD(PQnfields); LOAD(PQgetisnull); LOAD(PQgetvalue);
    LOAD(PQgetlength); LOAD(PQcmdTuples); LOAD(PQclear); LOAD(PQputCopyData); LOAD(PQputCopyEnd); LOAD(PQgetResult);
    loaded = 0;
}

int clibpq_load(char *error, size_t error_size) {
    pthread_once(&once, load);
    if (loaded != 0 && error && error_size) snprintf(error, error_size, "%s", load_error);
    return loaded;
}

PGconn *clibpq_connectdb(const char *conninfo) { return api.PQconnectdb(conninfo); }
int clibpq_status(const PGconn *conn) { return api.PQstatus(conn); }
const char *clibpq_error_message(const PGconn *conn) { return api.PQerrorMessage(conn); }
void clibpq_finish(PGconn *conn) { api.PQfinish(conn); }
void clibpq_reset(PGconn *conn) { api.PQreset(conn); }
unsigned int clibpq_ftype(const PGresult *result, int column) { return api.PQftype(result, column); }
int clibpq_transaction_status(const PGconn *conn) { return api.PQtransactionStatus(conn); }
PGresult *clibpq_exec(PGconn *conn, const char *query) { return api.PQexec(conn, query); }
PGresult *clibpq_prepare(PGconn *conn, const char *name, const char *query, int n, const unsigned int *types) {
    return api.PQprepare(conn, name, query, n, types);
}
PGresult *clibpq_exec_prepared(PGconn *conn, const char *name, int n, const char *const *values, const int *lengths,
                               const int *formats, int result_format) {
    return api.PQexecPrepared(conn, name, n, values, lengths, formats, result_format);
}
int clibpq_result_status(const PGresult *result) { return api.PQresultStatus(result); }
const char *clibpq_result_error_field(const PGresult *result, int field) { return api.PQresultErrorField(result, field); }
const char *clibpq_result_error_message(const PGresult *result) { return api.PQresultErrorMessage(result); }
int clibpq_ntuples(const PGresult *result) { return api.PQntuples(result); }
int clibpq_nfields(const PGresult *result) { return api.PQnfields(result); }
int clibpq_getisnull(const PGresult *result, int row, int column) { return api.PQgetisnull(result, row, column); }
const char *clibpq_getvalue(const PGresult *result, int row, int column) { return api.PQgetvalue(result, row, column); }
int clibpq_getlength(const PGresult *result, int row, int column) { return api.PQgetlength(result, row, column); }
const char *clibpq_cmd_tuples(PGresult *result) { return api.PQcmdTuples(result); }
void clibpq_clear(PGresult *result) { api.PQclear(result); }
int clibpq_put_copy_data(PGconn *conn, const char *buffer, int bytes) { return api.PQputCopyData(conn, buffer, bytes); }
int clibpq_put_copy_end(PGconn *conn, const char *error) { return api.PQputCopyEnd(conn, error); }
PGresult *clibpq_get_result(PGconn *conn) { return api.PQgetResult(conn); }
