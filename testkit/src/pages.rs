//! Every page `ListMeasurements` gives for a request, following its page tokens: what the tests
//! compare with the rows they saved, and what the dashboard's table must show page by page.

use sensorpipe::proto::v1::{
    ListMeasurementsRequest, Measurement, admin_service_client::AdminServiceClient,
};
use tonic::transport::Channel;

/// The pages of `request` (its filters and page size), in order; panics past `max_pages`, so a
/// token that never ends fails the test instead of hanging it.
pub async fn list_pages(
    client: &mut AdminServiceClient<Channel>,
    request: &ListMeasurementsRequest,
    max_pages: usize,
) -> Vec<Vec<Measurement>> {
    let mut request = request.clone();
    let mut pages = Vec::new();
    while pages.len() < max_pages {
        let page = client
            .list_measurements(request.clone())
            .await
            .expect("ListMeasurements answers")
            .into_inner();
        pages.push(page.measurements);
        if page.next_page_token.is_empty() {
            return pages;
        }
        request.page_token = page.next_page_token;
    }
    panic!("ListMeasurements offers more than {max_pages} pages");
}
