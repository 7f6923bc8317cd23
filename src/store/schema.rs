// One portable schema for both backends; the migrations in migrations/sqlite and
// migrations/postgres create the same tables with each backend's column types.

diesel::table! {
    organisations (id) {
        id -> Text,
        slug -> Text,
        name -> Text,
        serves_nhs -> Bool,
        serves_local_authority -> Bool,
        day_one_rule -> Text,
        stage1_extension_cap -> Integer,
        board_exact_figures -> Bool,
        recovery_public_key -> Nullable<Binary>,
        created_at -> Timestamp,
        retention_months -> Integer,
    }
}

diesel::table! {
    calendar_changes (id) {
        id -> Text,
        organisation_id -> Text,
        day -> Date,
        change -> Text,
        label -> Text,
        recorded_on -> Date,
        withdrawn_on -> Nullable<Date>,
    }
}

diesel::table! {
    day_one_rule_changes (id) {
        id -> Text,
        organisation_id -> Text,
        from_day -> Date,
        rule -> Text,
        previous_rule -> Text,
        recorded_on -> Date,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        organisation_id -> Text,
        email -> Text,
        display_name -> Text,
        job_title -> Text,
        role -> Text,
        active -> Bool,
        public_key -> Binary,
        sealed_secret_key -> Binary,
        kdf_salt -> Binary,
        kdf_cost -> Text,
        login_verifier -> Binary,
        sealed_totp_secret -> Binary,
        totp_last_step -> Nullable<BigInt>,
        key_generation -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    intake_contacts (organisation_id, user_id) {
        organisation_id -> Text,
        user_id -> Text,
        approved_key_generation -> Nullable<Integer>,
        approved_email -> Nullable<Text>,
    }
}

diesel::table! {
    cases (id) {
        id -> Text,
        organisation_id -> Text,
        reference -> Text,
        lookup_id -> Binary,
        reporter_public_key -> Binary,
        service -> Text,
        anonymity -> Text,
        topic -> Text,
        received_on -> Date,
        became_aware_on -> Nullable<Date>,
        next_record_seq -> Integer,
        channel -> Text,
        erased_on -> Nullable<Date>,
        mailbox_proof_hash -> Nullable<Binary>,
    }
}

diesel::table! {
    key_wraps (case_id, recipient, key_kind) {
        case_id -> Text,
        recipient -> Text,
        key_kind -> Text,
        wrapped -> Binary,
        granted_by -> Nullable<Text>,
        granted_on -> Date,
    }
}

diesel::table! {
    sealed_records (id) {
        id -> Text,
        case_id -> Text,
        seq -> Integer,
        kind -> Text,
        author -> Text,
        author_user_id -> Nullable<Text>,
        event_id -> Nullable<Text>,
        sealed -> Binary,
        created_on -> Date,
        aad_version -> Integer,
    }
}

diesel::table! {
    procedure_events (id) {
        id -> Text,
        case_id -> Text,
        seq -> Integer,
        kind -> Text,
        occurred_on -> Date,
        until_on -> Nullable<Date>,
        outcome -> Nullable<Text>,
        escalation -> Nullable<Text>,
        actor_user_id -> Nullable<Text>,
    }
}

diesel::table! {
    conflicts_of_interest (case_id, user_id) {
        case_id -> Text,
        user_id -> Text,
        declared_on -> Date,
    }
}

diesel::table! {
    case_reads (case_id, user_id) {
        case_id -> Text,
        user_id -> Text,
        seen_seq -> Integer,
    }
}

diesel::table! {
    handler_sessions (id) {
        id -> Text,
        user_id -> Text,
        sealed -> Binary,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    reporter_sessions (id) {
        id -> Text,
        sealed -> Binary,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    setup_tokens (token_hash) {
        token_hash -> Binary,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    audit_log (seq) {
        seq -> BigInt,
        at -> Timestamp,
        actor_user_id -> Nullable<Text>,
        action -> Text,
        organisation_id -> Nullable<Text>,
        case_id -> Nullable<Text>,
        subject_user_id -> Nullable<Text>,
        detail -> Text,
        prev_hash -> Binary,
        hash -> Binary,
    }
}

diesel::table! {
    outbox (id) {
        id -> Text,
        recipient -> Text,
        subject -> Text,
        body -> Text,
        created_at -> Timestamp,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        kind -> Text,
        recipient_user_id -> Nullable<Text>,
        held_for_digest -> Bool,
        digest_id -> Nullable<Text>,
    }
}

diesel::table! {
    reminders_sent (case_id, obligation, due_on, milestone) {
        case_id -> Text,
        obligation -> Text,
        due_on -> Date,
        milestone -> Text,
        queued_on -> Date,
    }
}

diesel::table! {
    reminder_schedule (case_id, obligation) {
        case_id -> Text,
        organisation_id -> Text,
        obligation -> Text,
        start_on -> Date,
        due_on -> Date,
        next_check_on -> Nullable<Date>,
    }
}

diesel::table! {
    notice_preferences (user_id) {
        user_id -> Text,
        delivery -> Text,
    }
}

diesel::table! {
    notice_runs (job, period) {
        job -> Text,
        period -> Text,
        ran_at -> Timestamp,
    }
}

diesel::table! {
    enrolment_tokens (token_hash) {
        token_hash -> Binary,
        user_id -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    approvals (id) {
        id -> Text,
        organisation_id -> Text,
        kind -> Text,
        subject_user_id -> Text,
        subject_key_generation -> Integer,
        subject_email -> Text,
        requested_by -> Text,
        requested_on -> Date,
        decision -> Nullable<Text>,
        decided_by -> Nullable<Text>,
        decided_on -> Nullable<Date>,
    }
}

diesel::table! {
    identity_requests (id) {
        id -> Text,
        case_id -> Text,
        recipient_user_id -> Text,
        recipient_key_generation -> Integer,
        requested_by -> Text,
        sealed_reason -> Binary,
        pending_wrap -> Binary,
        requested_on -> Date,
        decision -> Nullable<Text>,
        decided_on -> Nullable<Date>,
    }
}

diesel::table! {
    learning_entries (id) {
        id -> Text,
        organisation_id -> Text,
        service -> Text,
        stage -> Text,
        quarter -> Text,
        body -> Text,
        publishable -> Bool,
    }
}

diesel::table! {
    report_narratives (organisation_id, period, section) {
        organisation_id -> Text,
        period -> Text,
        section -> Text,
        body -> Text,
        updated_by -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    attachments (id) {
        id -> Text,
        case_id -> Text,
        stored_size -> BigInt,
        created_on -> Date,
    }
}

diesel::joinable!(attachments -> cases (case_id));
diesel::table! {
    reporter_requests (id) {
        id -> Text,
        case_id -> Text,
        kind -> Text,
        requested_on -> Date,
        message_record_id -> Nullable<Text>,
    }
}

diesel::joinable!(reporter_requests -> cases (case_id));
diesel::joinable!(users -> organisations (organisation_id));
diesel::joinable!(cases -> organisations (organisation_id));
diesel::joinable!(key_wraps -> cases (case_id));
diesel::joinable!(sealed_records -> cases (case_id));
diesel::joinable!(procedure_events -> cases (case_id));
diesel::joinable!(handler_sessions -> users (user_id));
diesel::joinable!(intake_contacts -> users (user_id));
diesel::joinable!(reminders_sent -> cases (case_id));
diesel::joinable!(reminder_schedule -> cases (case_id));

diesel::allow_tables_to_appear_in_same_query!(
    organisations,
    calendar_changes,
    day_one_rule_changes,
    users,
    intake_contacts,
    cases,
    key_wraps,
    sealed_records,
    procedure_events,
    conflicts_of_interest,
    case_reads,
    handler_sessions,
    reporter_sessions,
    setup_tokens,
    audit_log,
    outbox,
    reminders_sent,
    reminder_schedule,
    notice_preferences,
    notice_runs,
    identity_requests,
    enrolment_tokens,
    approvals,
    learning_entries,
    report_narratives,
    attachments,
    reporter_requests,
);
