/* json.c: the JSON objects outbox-auth reads and writes (json-c). */
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"

int
json_fields(const char *buf, size_t len, struct jfield *f, size_t n,
    struct error *e)
{
	struct json_tokener *tok;
	struct json_object *obj;

	for (size_t i = 0; i < n; i++)
		f[i].found = 0;
	if (len > HTTP_BODY_MAX)
		return error_set(e, ERR_PROTOCOL, "JSON reply too large");
	tok = json_tokener_new_ex(32);
	if (tok == NULL)
		return error_set(e, ERR_OSERR, "out of memory");
	obj = json_tokener_parse_ex(tok, buf, (int)len);
	if (obj == NULL ||
	    json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) < len) {
		size_t end = json_tokener_get_parse_end(tok);
		int trailing = 0;

		if (obj != NULL &&
		    json_tokener_get_error(tok) == json_tokener_success) {
			for (size_t i = end; i < len; i++)
				if (strchr(" \t\r\n", buf[i]) == NULL)
					trailing = 1;
			if (!trailing)
				goto parsed;
		}
		json_object_put(obj);
		json_tokener_free(tok);
		return error_set(e, ERR_PROTOCOL, "the reply is not JSON");
	}
parsed:
	json_tokener_free(tok);
	if (!json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		return error_set(e, ERR_PROTOCOL,
		    "the reply is not a JSON object");
	}
	for (size_t i = 0; i < n; i++) {
		struct json_object *v;

		if (!json_object_object_get_ex(obj, f[i].name, &v) ||
		    json_object_is_type(v, json_type_null))
			continue;
		if (f[i].type == J_STR) {
			char **d = f[i].dest;

			if (!json_object_is_type(v, json_type_string)) {
				json_object_put(obj);
				return error_set(e, ERR_PROTOCOL,
				    "%s is not a string", f[i].name);
			}
			free(*d);
			*d = strdup(json_object_get_string(v));
			if (*d == NULL) {
				json_object_put(obj);
				return error_set(e, ERR_OSERR, "out of memory");
			}
		} else {
			long long *d = f[i].dest;

			if (json_object_is_type(v, json_type_int)) {
				errno = 0;
				*d = (long long)json_object_get_int64(v);
			} else if (json_object_is_type(v, json_type_string)) {
				/* Some servers send expires_in as a string. */
				const char *s = json_object_get_string(v);
				char *end;

				errno = 0;
				*d = strtoll(s, &end, 10);
				if (end == s || *end != '\0' || errno != 0) {
					json_object_put(obj);
					return error_set(e, ERR_PROTOCOL,
					    "%s is not a number", f[i].name);
				}
			} else {
				json_object_put(obj);
				return error_set(e, ERR_PROTOCOL,
				    "%s is not a number", f[i].name);
			}
		}
		f[i].found = 1;
	}
	json_object_put(obj);
	return 0;
}

char *
json_write(const struct jfield *f, size_t n)
{
	struct json_object *obj = json_object_new_object();
	char *out = NULL;

	if (obj == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		struct json_object *v;

		if (f[i].type == J_STR) {
			char *const *s = f[i].dest;

			if (*s == NULL)
				continue;
			v = json_object_new_string(*s);
		} else {
			const long long *d = f[i].dest;

			if (*d < 0)
				continue;
			v = json_object_new_int64(*d);
		}
		if (v == NULL ||
		    json_object_object_add(obj, f[i].name, v) != 0) {
			json_object_put(v);
			json_object_put(obj);
			return NULL;
		}
	}
	{
		size_t len;
		const char *s = json_object_to_json_string_length(obj,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
		    &len);

		if (s != NULL) {
			out = malloc(len + 2);
			if (out != NULL) {
				memcpy(out, s, len);
				out[len] = '\n';
				out[len + 1] = '\0';
			}
		}
	}
	json_object_put(obj);
	return out;
}
