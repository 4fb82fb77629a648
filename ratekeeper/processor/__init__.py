"""The processor: finds the scopes, collects each metric of metrics.yml for
every period due, rates it, stores it and remembers per scope how far it
got (:mod:`ratekeeper.processor.state`).

This room imports collector/, fetcher/, rating/ and storage/; none of
them imports it. The API reads scope states only through
:class:`ratekeeper.processor.state.ScopeStates`.
"""
