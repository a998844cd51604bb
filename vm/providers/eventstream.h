/* The AWS event-stream binary framing (application/vnd.amazon.eventstream),
   in which Bedrock ConverseStream and InvokeModelWithResponseStream answer:
   an incremental decoder fed whatever the socket delivers, and an encoder
   (used by the mock provider to produce Bedrock streams).

   A frame, all integers big-endian:

     0   u32 total_length      the whole frame, these 4 bytes and the CRCs included
     4   u32 headers_length
     8   u32 prelude_crc       CRC-32 (zlib) of bytes 0..7
     12  headers               headers_length bytes: name_len u8 (>= 1), name,
                               type u8, value (below)
     ..  payload               total_length - headers_length - 16 bytes
     -4  u32 message_crc       CRC-32 of every byte before it

     type  value                        type  value
     0     bool true, no bytes          5     int64
     1     bool false, no bytes         6     byte array: u16 length, bytes
     2     byte (i8)                    7     string: u16 length, UTF-8 bytes
     3     int16                        8     timestamp: i64 ms since the epoch
     4     int32                        9     uuid: 16 bytes

   Checks, in this order, each a distinct error (es_status): the prelude CRC
   (as soon as 12 bytes are in, so a corrupt length is never trusted), then
   total_length within [16, max_frame], headers_length within
   [0, total_length - 16] and at most ES_MAX_HEADERS_LEN; once the frame is
   complete, the message CRC, then each header (a name of 1..255 bytes, a
   known type, a value inside the header block), at most ES_MAX_HEADERS
   headers.  After an error the decoder stays failed (the framing of the
   rest of the stream is lost) until es_decoder_reset().  A decoder buffers
   at most one frame: never more than max_frame bytes.

   Ownership: the decoder owns its buffer and header array; a decoded
   es_message (its headers, names, values, payload) points into the
   decoder's buffer or into the caller's input, and is valid until the next
   call on the decoder and while that input is.  es_encode() returns a heap
   buffer the caller frees.  Nothing here does I/O. */
#ifndef RV_EVENTSTREAM_H
#define RV_EVENTSTREAM_H

#include <stddef.h>
#include <stdint.h>

#define ES_PRELUDE_LEN     12
#define ES_MIN_FRAME       16                  /* prelude + message CRC */
#define ES_MAX_FRAME       (16u << 20)         /* AWS's limit on a message: 16 MiB */
#define ES_MAX_HEADERS_LEN (128u << 10)        /* AWS's limit on the headers: 128 KiB */
#define ES_MAX_HEADERS     256                 /* headers in one message */

enum {                                          /* header value types */
    ES_T_TRUE = 0, ES_T_FALSE = 1, ES_T_BYTE = 2, ES_T_INT16 = 3, ES_T_INT32 = 4,
    ES_T_INT64 = 5, ES_T_BYTES = 6, ES_T_STRING = 7, ES_T_TIMESTAMP = 8, ES_T_UUID = 9,
};

typedef struct {
    const char *name;          /* not NUL-terminated */
    size_t name_len;           /* 1..255 */
    uint8_t type;              /* ES_T_* */
    int64_t i;                 /* bool (1/0), byte, int16, int32, int64, timestamp (ms) */
    const uint8_t *data;       /* bytes, string (not NUL-terminated), uuid (16 bytes) */
    size_t len;                /* of 'data': 0..65535, 16 for a uuid */
} es_header;

typedef struct {
    uint32_t total_length, headers_length, prelude_crc, message_crc;
    const es_header *headers;
    size_t nheaders;
    const uint8_t *payload;
    size_t payload_len;
} es_message;

typedef enum {
    ES_NEED = 0,               /* every byte consumed, no complete frame yet */
    ES_MESSAGE = 1,            /* a message is ready (es_decode) */
    ES_ERR_PRELUDE_CRC = -1,   /* "prelude checksum mismatch" */
    ES_ERR_MESSAGE_CRC = -2,   /* "message checksum mismatch" */
    ES_ERR_SHORT = -3,         /* total_length below 16 */
    ES_ERR_LONG = -4,          /* total_length above the decoder's max_frame */
    ES_ERR_HEADERS_LEN = -5,   /* headers_length does not fit, or above ES_MAX_HEADERS_LEN */
    ES_ERR_HEADER = -6,        /* a malformed header (empty name, unknown type, overrun,
                                  too many) */
    ES_ERR_TRUNCATED = -7,     /* the stream ended inside a frame (es_finish) */
    ES_ERR_NOMEM = -8,
} es_status;

typedef struct es_decoder es_decoder;

/* A decoder accepting frames of at most 'max_frame' bytes (0: ES_MAX_FRAME;
   values above ES_MAX_FRAME or below ES_MIN_FRAME are clamped to them).
   NULL when out of memory.  es_decoder_free() accepts NULL. */
es_decoder *es_decoder_new(uint32_t max_frame);
void es_decoder_free(es_decoder *d);

/* Forget any partial frame and error: ready for a new stream. */
void es_decoder_reset(es_decoder *d);

/* Decode from buf[0..len).  Returns ES_MESSAGE with '*msg' filled and
   '*used' bytes consumed (call again with the rest), ES_NEED with every
   byte consumed, or an error (negative; '*used' then says how far the
   decoder got).  Input may be split anywhere, down to one byte per call. */
es_status es_decode(es_decoder *d, const void *buf, size_t len, size_t *used, es_message *msg);

/* End of stream: 0 (ES_NEED) if it ended between frames, else
   ES_ERR_TRUNCATED -- or the error the decoder already failed with. */
es_status es_finish(es_decoder *d);

/* The last error, as a sentence naming the check and the numbers
   involved (e.g. "total_length 8 is below the 16-byte minimum"); "" when
   none.  Borrowed from the decoder. */
const char *es_decoder_error(const es_decoder *d);

/* A short fixed name for a status ("prelude checksum mismatch", ...). */
const char *es_status_name(es_status st);

/* The first header called 'name' (NUL-terminated), or NULL. */
const es_header *es_find(const es_message *m, const char *name);

/* Whether header 'name' is a string equal to 'value'. */
int es_is(const es_message *m, const char *name, const char *value);

/* Headers for es_encode(): 'name' and string 'value' are NUL-terminated
   and borrowed. */
es_header es_str(const char *name, const char *value);
es_header es_bytes(const char *name, const void *data, size_t len);
es_header es_int(const char *name, uint8_t type, int64_t v);   /* bool, byte .. int64, timestamp */
es_header es_uuid(const char *name, const uint8_t uuid[16]);

typedef struct { char msg[160]; } es_err;

/* Encode one frame.  Returns 0 with a heap buffer in '*out' (the caller
   frees it) and its size in '*outlen', or -1 with a message in 'err' (an
   empty or over-long name, a value over 65535 bytes, an unknown type,
   headers over ES_MAX_HEADERS_LEN, a frame over ES_MAX_FRAME, no
   memory). */
int es_encode(const es_header *headers, size_t nheaders, const void *payload, size_t payload_len,
              uint8_t **out, size_t *outlen, es_err *err);

#endif
