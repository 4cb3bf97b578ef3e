-- Who may enter each sequence today, and why: every segment model's rows in one shape, with the
-- personalization fields its sequence definition lists (plus first_name and company_name) as a JSON
-- object. A new sequence's segment model must be added to this list (the build says so otherwise).

{{ union_segments([
    ref('segment_welcome'),
    ref('segment_cross_sell'),
    ref('segment_annual_upsell'),
    ref('segment_renewal_reminder'),
]) }}
