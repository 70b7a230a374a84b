/*
 * A stand-in for RStudio Server's PAM helper `rserver-pam` (open source), which rserver
 * runs as root for every sign-in (src/cpp/server/pam/PamMain.cpp, the conversation of
 * src/cpp/server_core/system/Pam.cpp):
 *
 *   rserver-pam <user> <service> <require-password-prompt 0|1>   (password on stdin)
 *
 * - refuses to run with a terminal on stdin;
 * - reads the password (at most 200 characters, one trailing newline stripped) and refuses
 *   an empty one before PAM is started;
 * - pam_start(service, user), then pam_authenticate(pamh, 0) and pam_acct_mgmt(pamh, 0);
 *   no PAM_RHOST, no PAM_TTY, no pam_setcred;
 * - the conversation: every PAM_PROMPT_ECHO_OFF prompt gets the same password, but with
 *   require-password-prompt=1 only a prompt matching /\bpassword:\s*$/i does, any other
 *   fails the conversation (PAM_CONV_ERR); PAM_TEXT_INFO gets ""; PAM_PROMPT_ECHO_ON and
 *   PAM_ERROR_MSG fail the conversation;
 * - exit status 0 when both calls succeed, 1 otherwise.
 *
 * Differences, for testing only: with E2E_PAM_CONFDIR set the service file is read from
 * that directory (pam_start_confdir) instead of /etc/pam.d, and a transcript of the
 * conversation (prompt texts, never the password) and the PAM results go to stderr.
 */
#include <ctype.h>
#include <security/pam_appl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_PASSWORD 200

struct conv_data {
    const char *password;
    int require_password_prompt;
};

static int is_word_char(unsigned char c) { return isalnum(c) || c == '_'; }

/* /\bpassword:\s*$/i, the prompt test of RStudio's conversation. */
static int password_like(const char *prompt) {
    size_t n = strlen(prompt);
    while (n > 0 && isspace((unsigned char)prompt[n - 1]))
        n--;
    const size_t k = strlen("password:");
    if (n < k || strncasecmp(prompt + n - k, "password:", k) != 0)
        return 0;
    return n == k || !is_word_char((unsigned char)prompt[n - k - 1]);
}

static const char *style_name(int style) {
    switch (style) {
    case PAM_PROMPT_ECHO_OFF: return "PROMPT_ECHO_OFF";
    case PAM_PROMPT_ECHO_ON: return "PROMPT_ECHO_ON";
    case PAM_ERROR_MSG: return "ERROR_MSG";
    case PAM_TEXT_INFO: return "TEXT_INFO";
    default: return "UNKNOWN";
    }
}

static void free_responses(struct pam_response *r, int n) {
    for (int i = 0; i < n; i++) {
        if (r[i].resp) {
            memset(r[i].resp, 0, strlen(r[i].resp));
            free(r[i].resp);
        }
    }
    free(r);
}

static int conversation(int num_msg, const struct pam_message **msg,
                        struct pam_response **resp, void *appdata) {
    struct conv_data *data = appdata;
    struct pam_response *out = calloc((size_t)num_msg, sizeof *out);
    if (out == NULL)
        return PAM_BUF_ERR;
    for (int i = 0; i < num_msg; i++) {
        const char *text = msg[i]->msg ? msg[i]->msg : "";
        fprintf(stderr, "conv: %s \"%s\"", style_name(msg[i]->msg_style), text);
        switch (msg[i]->msg_style) {
        case PAM_PROMPT_ECHO_OFF:
            if (data->require_password_prompt && !password_like(text)) {
                fprintf(stderr, " -> PAM_CONV_ERR (prompt does not match "
                                "\\bpassword:\\s*$)\n");
                free_responses(out, num_msg);
                return PAM_CONV_ERR;
            }
            out[i].resp = strdup(data->password);
            if (out[i].resp == NULL) {
                free_responses(out, num_msg);
                return PAM_BUF_ERR;
            }
            fprintf(stderr, " -> answered with the password box\n");
            break;
        case PAM_TEXT_INFO:
            out[i].resp = strdup("");
            fprintf(stderr, " -> \"\"\n");
            break;
        default:
            fprintf(stderr, " -> PAM_CONV_ERR\n");
            free_responses(out, num_msg);
            return PAM_CONV_ERR;
        }
    }
    *resp = out;
    return PAM_SUCCESS;
}

int main(int argc, char *argv[]) {
    if (isatty(STDIN_FILENO)) {
        fprintf(stderr, "Error: This program cannot be run from a terminal\n");
        return 1;
    }
    if (argc < 3) {
        fprintf(stderr, "usage: %s <user> <service> [0|1]\n", argv[0]);
        return 1;
    }
    const char *user = argv[1];
    const char *service = argv[2];
    int require = !(argc > 3 && strcmp(argv[3], "0") == 0);

    char password[MAX_PASSWORD + 2];
    size_t len = fread(password, 1, sizeof password - 1, stdin);
    password[len] = '\0';
    if (len > 0 && password[len - 1] == '\n')
        password[--len] = '\0';
    if (len > MAX_PASSWORD || strlen(password) != len) {
        fprintf(stderr, "Error: password too long or invalid\n");
        return 1;
    }
    if (len == 0) {
        fprintf(stderr, "Error: empty password (this hangs PAM)\n");
        return 1;
    }

    struct conv_data data = {password, require};
    struct pam_conv conv = {conversation, &data};
    pam_handle_t *pamh = NULL;
    const char *confdir = getenv("E2E_PAM_CONFDIR");
    int rc = confdir ? pam_start_confdir(service, user, &conv, confdir, &pamh)
                     : pam_start(service, user, &conv, &pamh);
    if (rc != PAM_SUCCESS) {
        fprintf(stderr, "pam_start: %d\n", rc);
        return 1;
    }
    rc = pam_authenticate(pamh, 0);
    fprintf(stderr, "pam_authenticate: %d (%s)\n", rc, pam_strerror(pamh, rc));
    if (rc == PAM_SUCCESS) {
        rc = pam_acct_mgmt(pamh, 0);
        fprintf(stderr, "pam_acct_mgmt: %d (%s)\n", rc, pam_strerror(pamh, rc));
    }
    pam_end(pamh, rc);
    memset(password, 0, sizeof password);
    return rc == PAM_SUCCESS ? 0 : 1;
}
